"""The ``chestx`` command line: thin wrappers that parse options, call the packages, print.

Each stage adds its commands in its own section below. Errors the user can cause are raised
as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main` prints them in
one line and exits with status 2.
"""

from __future__ import annotations

import sys

import typer

from chestx import __version__
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


# ---------------------------------------------------------------- data (issue: foundation)
# -------------------------------------------------------------- reports (issue: labeler)
# ------------------------------------------------------------- models (issue: training)
# ---------------------------------------------------------- localize (issue: localization)
# ------------------------------------------------------------- ingest (issue: database)
# ------------------------------------------------------ use (issue: predict/serve/export)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        app(args=argv)  # standalone mode: usage errors print and exit 2 by themselves
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ChestxError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
