"""The one way the metrics write a figure: a PNG written atomically, the figure closed."""

from __future__ import annotations

import os
from pathlib import Path

from chestx.atomic import atomic_path


def write_figure(fig, path: str | os.PathLike, dpi: int | None = None) -> Path:
    """Save the matplotlib figure ``fig`` as a PNG at ``path`` (temp file + rename, so a
    reader never sees half a picture), close it, and return the path."""
    import matplotlib.pyplot as plt  # matplotlib only for the commands that draw

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **({"dpi": dpi} if dpi else {}))
    plt.close(fig)
    return path
