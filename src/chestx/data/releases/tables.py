"""Metadata tables of the public releases, read as shipped and forgiving of damage.

Every release ships its metadata as CSV, some gzipped (MIMIC-CXR-JPG), some with a UTF-8 byte
order mark, some with quoted list cells (PadChest). :func:`read_table` reads any of them as
strings and never stops at a damaged file: a gzip stream that ends early, a last line cut in
the middle, or a row with the wrong number of fields is reported as **one line naming the
file** in a :class:`Problems` tally, and the rows that are whole are kept.
"""

from __future__ import annotations

import csv
import io
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.errors import ChestxError

_GZIP_MAGIC = b"\x1f\x8b"
#: Problem lines printed in full; the rest are counted.
SHOWN_PROBLEMS = 20


@dataclass
class Problems:
    """One-line messages about bad input met while reading a release (each names a file)."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def extend(self, lines: Iterable[str]) -> None:
        self.lines.extend(lines)

    def __len__(self) -> int:
        return len(self.lines)

    def shown(self, limit: int = SHOWN_PROBLEMS) -> list[str]:
        """The lines to print: the first ``limit`` and one line counting the others."""
        head = self.lines[:limit]
        if len(self.lines) > limit:
            head.append(f"... and {len(self.lines) - limit} more problems")
        return head


def _decompress(raw: bytes, path: Path, problems: Problems) -> bytes:
    """Gunzip ``raw``; a stream that ends early yields what was decoded, and a problem line."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(raw)
    except zlib.error as exc:
        problems.add(f"{path}: corrupt gzip data ({exc}); read what came before")
        return b""
    if not inflater.eof:
        problems.add(f"{path}: truncated gzip file; read the rows before the cut")
    return data


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ChestxError(f"{path}: cannot decode")  # latin-1 decodes any bytes: unreachable


def read_text(path: str | os.PathLike, problems: Problems) -> str:
    """The text of a (maybe gzipped, maybe truncated) file; :class:`ChestxError` if missing."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ChestxError(f"{path}: not found") from exc
    except OSError as exc:
        raise ChestxError(f"{path}: cannot read ({exc})") from exc
    if raw[:2] == _GZIP_MAGIC:
        raw = _decompress(raw, path, problems)
    return _decode(raw, path)


def read_table(path: str | os.PathLike, problems: Problems,
               required: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV (plain or gzip) as a frame of stripped strings, one row per whole line.

    Rows whose field count differs from the header's (a line cut by truncation, a stray
    comma) are dropped and reported in ``problems`` as one line naming the file, with the
    first bad line number and the count. A header lacking a ``required`` column raises
    :class:`ChestxError` naming the file: without it nothing of the file can be used.
    """
    path = Path(path)
    text = read_text(path, problems)
    header = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or len(text)])), None)
    if header is None:
        raise ChestxError(f"{path}: empty file")
    header = [name.strip() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise ChestxError(f"{path}: no column {missing[0]!r} (header {header[:8]})")
    frame = _rows(path, text, header, problems)
    # stripping costs seconds on 200k rows: only when a space can sit at a cell's edge
    padded = any(edge in text for edge in (", ", " ,", " \n", "\n ", '" ', ' "'))
    return frame.apply(_strip) if padded else frame


def _strip(column: pd.Series) -> pd.Series:
    """Cells stripped of spaces, once per distinct cell (label columns have few)."""
    codes, uniques = pd.factorize(column)
    stripped = np.array([cell.strip() for cell in uniques] + [""], dtype=object)
    return pd.Series(stripped[codes], index=column.index, dtype=object)


def _rows(path: Path, text: str, header: list[str], problems: Problems) -> pd.DataFrame:
    """The rows of ``text`` with the header's field count (others skipped and reported)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    rows = []
    try:
        rows.extend(reader)
    except csv.Error as exc:  # an unterminated quote at a cut
        problems.add(f"{path}: unreadable from line {reader.line_num} ({exc}); kept the rows "
                     "before it")
    width = len(header)
    good = [row for row in rows if len(row) == width]
    bad = [i for i, row in enumerate(rows) if len(row) != width and any(c.strip() for c in row)]
    if bad:
        problems.add(f"{path}: {len(bad)} rows with a field count other than the header's "
                     f"{width} skipped (first at row {bad[0] + 1} after the header)")
    return pd.DataFrame(good, columns=header, dtype=object)


def find_file(root: Path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` (paths relative to ``root``) that is a file, else ``None``."""
    for name in names:
        if (root / name).is_file():
            return root / name
    return None


def to_float(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column of label cells -> float64: ``""`` -> NaN, ``"1.0"`` -> 1.0, ``"-1"`` -> -1;
    text that is no number -> NaN. Converted once per distinct cell (labels have few)."""
    codes, uniques = pd.factorize(frame[column])
    numbers = np.array([_number(cell) for cell in uniques] + [np.nan], dtype=np.float64)
    return pd.Series(numbers[codes], index=frame.index)  # code -1 (a missing cell) -> NaN


def _number(cell: object) -> float:
    try:
        return float(cell)
    except (TypeError, ValueError):
        return float("nan")
