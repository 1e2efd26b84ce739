"""``chestx label`` and ``chestx label-eval``: radiology reports to labels, and their score."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet
from chestx.reports.label_config import LabelConfig, LabelEvalConfig


@configured(LabelConfig, after={"quiet": "evidence"})
def label_command(config: LabelConfig, quiet: Quiet = False) -> None:
    """Label radiology reports with the 14 findings (1/0/-1/blank), Normal, Finding Labels."""
    from chestx.reports.batch import label_file
    from chestx.reports.labeler import Labeler

    labeler = Labeler(coding=config.coding) if config.coding else None
    summary = label_file(config.input, config.output, workers=config.workers,
                         evidence=config.evidence, progress=not quiet, labeler=labeler)
    for problem in summary.problems:
        typer.echo(f"warning: blank labels for {problem}", err=True)
    typer.echo(f"labeled {summary.reports} reports -> {config.output}"
               + (f" ({len(summary.problems)} unreadable, left blank)" if summary.problems
                  else ""))


@configured(LabelEvalConfig)
def label_eval_command(config: LabelEvalConfig) -> None:
    """Precision / recall / F1 per finding and micro totals (paper Tables 2 and 18);
    ``--errors FILE`` lists the false positives by rule id."""
    import json

    from chestx.reports.errors import error_report, format_rule_counts, write_errors
    from chestx.reports.scoring import evaluate_files, format_tables

    result = evaluate_files(config.gold, config.pred,
                            uncertain_positive=config.uncertain_positive)
    text = json.dumps(result, indent=2) if config.as_json else format_tables(result)
    if config.errors is not None:
        rows = error_report(config.gold, config.pred, config.evidence, config.coding,
                            config.uncertain_positive)
        write_errors(config.errors, rows)
        if not config.as_json:
            text += ("\n\n" + format_rule_counts(rows)
                     + f"\nwrote {len(rows)} rows -> {config.errors}")
    typer.echo(text)
