"""The ``chestx`` command line: thin commands that parse options, call the packages, print.

Each stage's commands live in their own module (:mod:`.synth`, :mod:`.data`, :mod:`.reports`,
:mod:`.train`, :mod:`.evaluate`, :mod:`.trust`, :mod:`.database`, :mod:`.predict`,
:mod:`.serve`); their options come from the settings dataclass of the package that does
the work (:mod:`.derive`) and from the shared types of :mod:`.options`. Errors the user can
cause are raised as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main`
prints them in one line and exits with status 2.
"""

from __future__ import annotations

import typer

from chestx import __version__
from chestx.cli import data, database, evaluate, predict, reports, serve, synth, train, trust
from chestx.cli.options import remedy_flags
from chestx.errors import ChestxError

app = typer.Typer(
    name="chestx",
    help="Build a ChestX-ray14-style database and benchmark weakly-supervised models on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chestx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """chestx: reports -> labels -> NIH-style dataset -> train -> evaluate -> localize -> use."""


# the commands in the order of `chestx --help`: data, reports, models, database, use
app.command("synth")(synth.synth_command)
app.command("synth-dicom")(synth.synth_dicom_command)
app.command("split")(data.split_command)
app.command("stats")(data.stats_command)
app.command("label")(reports.label_command)
app.command("label-eval")(reports.label_eval_command)
app.command("train")(train.train_command)
app.command("cache")(data.cache_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("label-audit")(evaluate.label_audit_command)
app.command("reproduce")(train.reproduce_command)
app.command("eval-boxes")(evaluate.eval_boxes_command)
app.command("calibrate")(trust.calibrate_command)
app.command("card")(trust.card_command)
app.command("ingest")(database.ingest_command)
app.add_typer(database.pacs_app, name="pacs")
app.command("predict")(predict.predict_command)
app.command("localize", help=predict.LOCALIZE_HELP)(predict.predict_command)
app.command("serve")(serve.serve_command)
app.command("export")(predict.export_command)
app.add_typer(serve.boxes_app, name="boxes")
app.command("annotate")(serve.annotate_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        app(args=argv)  # standalone mode: usage errors print and exit 2 by themselves
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ChestxError as exc:
        hint = f" ({remedy_flags(exc.remedies)})" if exc.remedies else ""
        typer.echo(f"error: {exc}{hint}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0
