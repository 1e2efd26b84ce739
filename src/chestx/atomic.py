"""Atomic outputs: write to a temp file in the same folder, then ``os.replace``.

A reader never sees a half-written file, and a killed job leaves the old file intact.
The final file gets the mode a plain ``open(path, "w")`` gives (``0o666 & ~umask``), not the
0600 of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it in /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    # Elsewhere the only way is to set it and put it back (briefly 0 for other threads).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_leftovers(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files that :func:`atomic_path` writes beside ``path`` and a killed
    process (SIGKILL, power loss) could not remove; returns what was deleted. Call it when a
    resumable job starts, before it writes ``path`` again."""
    path = Path(path)
    pattern = f".{glob.escape(path.stem)}.*{glob.escape(path.suffix)}"
    stale = [p for p in path.parent.glob(pattern) if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it is removed.

    Use it for writers that want a file name (``torch.save``, ``fig.savefig``, ``df.to_csv``).
    The temp name keeps the suffix so that writers that look at it (matplotlib, PIL) still work.
    The file ends with mode ``0o666 & ~umask``, like one made by ``open(path, "w")``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # chmod after the writer: it may have replaced the temp file rather than reused it.
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open()`` that writes to a temp file and renames it over ``path`` when closed cleanly."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
