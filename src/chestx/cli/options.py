"""Options shared by several commands that are the command line's own (not settings of a
package), declared once as annotated types, and the checks of option values."""

from __future__ import annotations

from typing import Annotated

import typer

from chestx.errors import ChestxError

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
#: ``--quiet`` of a command with several progress bars (one per stage).
QuietAll = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Threads = Annotated[int, typer.Option("--threads", help="CPU threads (0: torch's default).")]


def set_threads(threads: int) -> None:
    """``--threads``: torch's CPU threads (0 leaves its default)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def check_heatmap(heatmap: str) -> None:
    """``--heatmap`` must name a heatmap source (before a model is loaded for nothing)."""
    from chestx.localize.sources import HEATMAP_SOURCES

    if heatmap not in HEATMAP_SOURCES:
        raise ChestxError(f"--heatmap {heatmap!r}: choose from {', '.join(HEATMAP_SOURCES)}")


def remedy_flags(remedies: dict[str, object]) -> str:
    """The options that set ``remedies`` (setting name -> a value that would do; ``None``:
    another value), e.g. ``--weights PATH or --no-pretrained``."""
    flags = []
    for name, value in remedies.items():
        flag = "--" + name.replace("_", "-")
        if value is False:
            flags.append(f"--no-{flag[2:]}")
        else:
            flags.append(flag if value is None or value is True else f"{flag} {value}")
    return " or ".join(flags)
