"""What ``chestx label`` and ``chestx label-eval`` take (no third-party imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.fields import option


@dataclass
class LabelConfig:
    """Settings of :func:`chestx.reports.batch.label_file`."""

    input: Path = option(help="CSV with columns report_id,text, or a folder of .txt reports "
                              "(report_id = file stem).", argument=True)
    output: Path = option(help="Labels CSV to write.", flags=("-o", "--output"))
    workers: int = option(1, "Parser processes.", min=1)
    evidence: Path | None = option(None, "Also write one JSON line per mention.")
    coding: str | None = option(None, "paper (§2.1, the default) or openi: code reports as "
                                      "OpenI's annotators did (differentials present, devices "
                                      "abnormal, any thickening Pleural_Thickening).")


@dataclass
class LabelEvalConfig:
    """Settings of :func:`chestx.reports.scoring.evaluate_files`."""

    gold: Path = option(help="Gold CSV with report_id,gold (as openi_dev.csv).", argument=True)
    pred: Path = option(help="Labels CSV written by `chestx label`.", argument=True)
    as_json: bool = option(False, "Print JSON instead of tables.", flags=("--json",))
    uncertain_positive: bool = option(False, "Count uncertain (-1) as positive.",
                                      flags=("--uncertain-positive",))
    errors: Path | None = option(None, "Write every false positive (and false negative) with "
                                 "the rule id behind it to this CSV.")
    evidence: Path | None = option(None, "Evidence JSONL of `chestx label --evidence` for "
                                   "--errors (default: label the gold CSV's text again).")
    coding: str = option("paper", "Coding used to label the gold text again for --errors when "
                         "no --evidence is given (paper or openi).")
