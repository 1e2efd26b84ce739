"""What several commands print the same way: tables, the address of a local server."""

from __future__ import annotations

import typer

from chestx.serve.serve_config import exposed


def print_table(frame, title: str) -> None:
    """A pandas table on the terminal (floats to 4 decimals, blanks for NaN)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="left" if column in ("finding", "Setting")
                         else "right")
    for _, row in frame.iterrows():
        table.add_row(*["" if v != v else (f"{v:.4f}" if isinstance(v, float) else str(v))
                        for v in row])
    Console().print(table)


def announce_server(name: str, host: str, port: int, exposes: str) -> None:
    """On stderr: a warning when ``host`` is reachable from other machines (anyone could
    ``exposes``), then the address of the server ``name``."""
    if exposed(host):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can "
                   f"{exposes}", err=True)
    typer.echo(f"{name} on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               "(Ctrl+C to stop)", err=True)


def report_release(release) -> None:
    """On stderr: the problems met reading a release (one line each, named by file) and its
    tally (:meth:`chestx.data.releases.Release.tally`)."""
    for line in release.problems.shown():
        typer.echo(f"warning: {line}", err=True)
    tally = release.tally()
    if tally is not None:
        typer.echo(tally, err=True)
