"""The NIH ChestX-ray14 release as NIH ships it, read exactly.

A dataset folder holds::

    Data_Entry_2017.csv      (or .csv.gz) one row per image, 11 columns (DATA_ENTRY_COLUMNS)
    BBox_List_2017.csv       optional: hand-drawn boxes, x, y, w, h in stored-image pixels
    train_val_list.txt       official patient-wise split, one Image Index a line
    test_list.txt
    images/*.png             or images_001/images/*.png ... images_012/images/*.png

Quirks handled (all seen in the real files):

- ``Data_Entry_2017.csv`` exists in two forms. The 2017 original has CRLF line ends, a
  trailing comma on the header (12 fields, 11 per row), zero-padded ``Follow-up #`` and
  ``Patient ID`` (``000``, ``00000001``) and ages with a unit (``058Y``, ``011M``, ``001D``).
  The v2020 form has plain integers. Both read to the same normalized frame.
- ``BBox_List_2017.csv`` has the header ``Image Index,Finding Label,Bbox [x,y,w,h],,,``
  (9 fields over 6-field rows) and names Infiltration ``Infiltrate``.
- The split lists have no trailing newline.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.data.images import IMAGE_SUFFIXES
from chestx.errors import ChestxError
from chestx.findings import NO_FINDING, canonical

#: The v2020 header of ``Data_Entry_2017.csv`` as pandas splits it: 11 columns.
DATA_ENTRY_COLUMNS: list[str] = [
    "Image Index",
    "Finding Labels",
    "Follow-up #",
    "Patient ID",
    "Patient Age",
    "Patient Gender",
    "View Position",
    "OriginalImage[Width",
    "Height]",
    "OriginalImagePixelSpacing[x",
    "y]",
]

#: Columns of the frame :func:`read_bbox_list` returns.
BBOX_COLUMNS: list[str] = ["Image Index", "Finding Label", "x", "y", "w", "h"]

#: The header NIH writes on ``BBox_List_2017.csv`` (9 fields for 6-field rows).
BBOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"

#: The same with a 7th column naming the reader who drew each box (boxes kept apart by reader).
BBOX_HEADER_READER = "Image Index,Finding Label,Bbox [x,y,w,h],reader"

#: Looked for in this order: NIH's file as first released, then as re-released in 2020.
DATA_ENTRY_NAMES = ("Data_Entry_2017.csv", "Data_Entry_2017.csv.gz",
                    "Data_Entry_2017_v2020.csv", "Data_Entry_2017_v2020.csv.gz")
BBOX_NAMES = ("BBox_List_2017.csv", "BBox_List_2017.csv.gz")
TRAIN_VAL_LIST = "train_val_list.txt"
TEST_LIST = "test_list.txt"

_AGE_UNIT_DIVISOR = {"Y": 1, "M": 12, "W": 52, "D": 365}

#: ``Patient Age`` and ``OriginalImage[Width``/``Height]`` of an empty cell ("unknown"):
#: the columns stay int64. An empty pixel spacing reads as NaN.
UNKNOWN = -1


def _is_gzip(path: Path) -> bool:
    """True for gzip data, whatever the suffix (a ``.csv.gz`` renamed to ``.csv`` still reads)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _first_line(path: Path) -> str:
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            return handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ChestxError(f"{path}: cannot read ({exc})") from exc


def _read_rows(path: Path, names: Sequence[str], spare: int) -> pd.DataFrame:
    """Read a headered CSV as strings under ``names``; up to ``spare`` trailing empty fields
    per row are tolerated (the NIH trailing comma) and dropped."""
    extra = [f"_spare{i}" for i in range(spare)]
    try:
        frame = pd.read_csv(path, header=None, skiprows=1, names=list(names) + extra, dtype=str,
                            keep_default_na=False, skip_blank_lines=True,
                           compression="gzip" if _is_gzip(path) else None)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ChestxError(f"{path}: cannot parse CSV ({exc})".replace("\n", " ")) from exc
    for column in extra:
        filled = frame[column].str.strip() != ""
        if filled.any():
            row = int(np.flatnonzero(filled.to_numpy())[0]) + 2
            raise ChestxError(f"{path}: line {row} has more than {len(names)} fields")
    return frame[list(names)]


def data_entry_path(root: str | os.PathLike) -> Path:
    """``root/Data_Entry_2017.csv`` (or ``.csv.gz``, or NIH's ``Data_Entry_2017_v2020.csv``
    name); ``root`` may also be the CSV itself."""
    root = Path(root)
    if root.is_file():
        return root
    if not root.is_dir():
        raise ChestxError(f"{root}: dataset folder not found")
    for name in DATA_ENTRY_NAMES:
        if (root / name).is_file():
            return root / name
    raise ChestxError(f"{root / DATA_ENTRY_NAMES[0]}: not found (nor "
                      f"{', '.join(DATA_ENTRY_NAMES[1:])})")


def parse_age(value: str) -> int:
    """NIH age cell -> whole years: ``"058Y"`` -> 58, ``"57"`` -> 57, ``"011M"`` -> 0,
    ``"018M"`` -> 1, ``"001D"`` -> 0.

    Months, weeks and days are floored to whole years, exactly as NIH's v2020 file did when
    it dropped the units (its row for ``018M`` says 1, for ``011M`` 0). Raises ``ValueError``.
    """
    text = value.strip().upper()
    unit = text[-1:] if text[-1:] in _AGE_UNIT_DIVISOR else "Y"
    number = text[:-1] if text[-1:] in _AGE_UNIT_DIVISOR else text
    if not number.isdigit():
        raise ValueError(f"bad age {value!r}")
    return int(number) // _AGE_UNIT_DIVISOR[unit]


def _canonical_cell(cell: str) -> str:
    parts = [p.strip() for p in cell.split("|") if p.strip()]
    if not parts or parts == [NO_FINDING]:
        return NO_FINDING
    return "|".join(canonical(p) for p in parts if p != NO_FINDING)


def read_data_entry(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``Data_Entry_2017.csv`` (2017 original or v2020 form; ``.csv`` or ``.csv.gz``).

    ``path`` may be the CSV or the dataset folder holding it. Returns a frame with exactly
    :data:`DATA_ENTRY_COLUMNS`, one row per image in file order, normalized:

    - ``Image Index``, ``Patient Gender``, ``View Position``: stripped strings;
    - ``Finding Labels``: canonical NIH names joined by ``|`` or ``"No Finding"``;
    - ``Follow-up #``, ``Patient ID``, ``Patient Age`` (whole years, see :func:`parse_age`),
      ``OriginalImage[Width``, ``Height]``: int64 (``"00000001"`` -> 1);
    - the pixel spacings: float64.

    Unknown values: an empty ``Patient Age``, ``OriginalImage[Width`` or ``Height]`` cell
    reads as :data:`UNKNOWN` (-1) and an empty pixel spacing as NaN (``chestx ingest`` writes
    empty cells when the DICOM header lacks them). ``Follow-up #`` and ``Patient ID`` must be
    filled.

    Raises :class:`ChestxError` naming the file (and line) for a missing file, a header that
    is not NIH's, unparseable numbers, unknown finding names or duplicate image names.
    """
    path = data_entry_path(path)
    header = _first_line(path)
    if not header.startswith("Image Index,Finding Labels"):
        raise ChestxError(f"{path}: not an NIH Data_Entry file (header {header[:60]!r})")
    frame = _read_rows(path, DATA_ENTRY_COLUMNS, spare=2)
    frame = frame.apply(lambda col: col.str.strip())
    for column in ("Follow-up #", "Patient ID"):
        frame[column] = _to_numbers(path, frame, column, int)
    for column in ("OriginalImage[Width", "Height]"):
        frame[column] = _to_numbers(path, frame, column, int, empty=UNKNOWN)
    for column in ("OriginalImagePixelSpacing[x", "y]"):
        frame[column] = _to_numbers(path, frame, column, float, empty=np.nan)
    frame["Patient Age"] = _map_cells(path, frame, "Patient Age", _age_or_unknown)
    frame["Patient Age"] = frame["Patient Age"].astype(np.int64)
    frame["Finding Labels"] = _map_cells(path, frame, "Finding Labels", _canonical_cell)
    duplicated = frame["Image Index"].duplicated()
    if duplicated.any():
        name = frame["Image Index"][duplicated].iloc[0]
        raise ChestxError(f"{path}: image {name} is listed twice")
    return frame.reset_index(drop=True)


def _age_or_unknown(cell: str) -> int:
    return UNKNOWN if cell == "" else parse_age(cell)


def _to_numbers(path: Path, frame: pd.DataFrame, column: str, kind: type,
                empty: float | None = None) -> pd.Series:
    """Cells -> int64/float64; an empty cell becomes ``empty`` (an error when ``None``)."""
    blank = (frame[column] == "") & (empty is not None)
    values = pd.to_numeric(frame[column], errors="coerce").mask(blank, empty)
    bad = values.isna() & ~blank  # text such as "abc" (and empty cells when not allowed)
    if kind is int:
        bad |= values % 1 != 0
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ChestxError(f"{path}: line {row + 2}: bad {column!r} value "
                          f"{frame[column].iloc[row]!r}")
    return values.astype(np.int64 if kind is int else np.float64)


def _map_cells(path: Path, frame: pd.DataFrame, column: str, parse: Callable) -> pd.Series:
    """Apply ``parse`` once per distinct cell (fast on 112k rows); errors name the line."""
    mapping = {}
    for cell in frame[column].unique():
        try:
            mapping[cell] = parse(cell)
        except (KeyError, ValueError) as exc:
            row = int(np.flatnonzero((frame[column] == cell).to_numpy())[0])
            raise ChestxError(f"{path}: line {row + 2}: bad {column!r} value {cell!r} "
                              f"({str(exc).strip(chr(39))})") from exc
    return frame[column].map(mapping)


def read_bbox_list(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``BBox_List_2017.csv`` -> frame with :data:`BBOX_COLUMNS`.

    Accepts NIH's odd header (``Bbox [x,y,w,h],,,``: 9 fields over 6-field rows), the same
    with a ``reader`` column (:data:`BBOX_HEADER_READER`; the frame then has ``reader``) and
    a plain ``Image Index,Finding Label,x,y,w,h[,score]`` header. ``Finding Label`` is canonical
    (``Infiltrate`` -> ``Infiltration``); ``x, y, w, h`` are float64 pixels of the stored
    image, top-left origin. ``path`` may be the dataset folder.
    """
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in BBOX_NAMES if (path / n).is_file()]
        if not found:
            raise ChestxError(f"{path / BBOX_NAMES[0]}: not found")
        path = found[0]
    if not path.is_file():
        raise ChestxError(f"{path}: not found")
    fields = [f.strip() for f in next(csv.reader([_first_line(path)]), [])]
    if fields[:2] != ["Image Index", "Finding Label"]:
        raise ChestxError(f"{path}: not an NIH BBox file (header {fields[:3]!r})")
    if fields[2:6] == ["x", "y", "w", "h"]:  # plain form, maybe with a score column
        frame = _read_rows(path, fields, spare=1)[BBOX_COLUMNS]
    elif fields[-1:] == ["reader"]:  # boxes kept apart by reader
        frame = _read_rows(path, [*BBOX_COLUMNS, "reader"], spare=1)
    else:  # NIH's "Bbox [x,y,w,h],,," header
        frame = _read_rows(path, BBOX_COLUMNS, spare=max(len(fields) - len(BBOX_COLUMNS), 1))
    frame = frame.apply(lambda col: col.str.strip())
    for column in ("x", "y", "w", "h"):
        frame[column] = _to_numbers(path, frame, column, float)
    frame["Finding Label"] = _map_cells(path, frame, "Finding Label", canonical)
    return frame.reset_index(drop=True)


def read_split_list(path: str | os.PathLike) -> list[str]:
    """Read ``train_val_list.txt``/``test_list.txt``: one Image Index a line, in file order.

    Tolerates CRLF, blank lines and the missing trailing newline of NIH's files.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ChestxError(f"{path}: split list not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ChestxError(f"{path}: cannot read ({exc})") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def find_images(root: str | os.PathLike) -> dict[str, Path]:
    """Map ``Image Index`` (file name) -> path for every image under a dataset folder.

    Looks in ``root/images/`` (flat layout) and ``root/images_*/images/`` (NIH's 12 archives
    unpacked side by side, ``images_001`` ... ``images_012``), also ``root/images_*/`` when
    an archive was unpacked without its inner folder. Symlinks are followed. When a name
    occurs twice, the first folder in sorted order wins.
    """
    root = Path(root)
    if not root.is_dir():
        raise ChestxError(f"{root}: dataset folder not found")
    folders = [root / "images"]
    for part in sorted(p for p in root.glob("images_*") if p.is_dir()):
        folders += [part / "images", part]
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.lower().endswith(IMAGE_SUFFIXES) and entry.is_file():
                    found.setdefault(entry.name, Path(entry.path))
    return found
