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
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None:
        raise ChestxError(f"{path}: empty file")
    header = [name.strip() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise ChestxError(f"{path}: no column {missing[0]!r} (header {header[:8]})")
    good, bad, first_bad = [], 0, 0
    try:
        for number, row in enumerate(rows, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) == len(header):
                good.append([cell.strip() for cell in row])
            else:
                bad += 1
                first_bad = first_bad or number
    except csv.Error as exc:  # an unterminated quote at a cut
        problems.add(f"{path}: unreadable from line {rows.line_num} ({exc}); kept the rows "
                     "before it")
    if bad:
        problems.add(f"{path}: {bad} rows with a field count other than the header's "
                     f"{len(header)} skipped (first at line {first_bad})")
    return pd.DataFrame(good, columns=header, dtype=str)


def find_file(root: Path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` (paths relative to ``root``) that is a file, else ``None``."""
    for name in names:
        if (root / name).is_file():
            return root / name
    return None


def to_float(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column of label cells -> float64: ``""`` -> NaN, ``"1.0"`` -> 1.0, ``"-1"`` -> -1."""
    return pd.to_numeric(frame[column].replace("", None), errors="coerce").astype("float64")
