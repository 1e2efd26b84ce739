"""The box CSVs: NIH's ``BBox_List_2017.csv`` (read and written) and ``boxes.csv`` (written).

``boxes.csv`` is the predicted-box table (:data:`PRED_COLUMNS`).

``BBox_List_2017.csv`` has the header ``Image Index,Finding Label,Bbox [x,y,w,h],,,`` (9 fields
over 6-field rows), lists its boxes by finding and names Infiltration ``Infiltrate``
(:data:`chestx.findings.BBOX_LIST_SPELLING`). Boxes are ``x, y, w, h`` in pixels of the image
as stored (1024 for NIH), top-left origin (:class:`chestx.boxes.Box`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from chestx.atomic import atomic_open, atomic_write_text
from chestx.boxes import Box
from chestx.data.nih import first_line, map_cells, read_rows, to_numbers
from chestx.errors import ChestxError
from chestx.findings import BBOX_LIST_SPELLING, FINDINGS, canonical

#: Columns of the frame :func:`read_bbox_list` returns.
BBOX_COLUMNS: list[str] = ["Image Index", "Finding Label", "x", "y", "w", "h"]

#: Columns of a box table with scores (``boxes.csv``, PRED.csv): NIH's box columns + score.
PRED_COLUMNS: list[str] = [*BBOX_COLUMNS, "score"]

#: The header NIH writes on ``BBox_List_2017.csv`` (9 fields for 6-field rows).
BBOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"

#: The same with a 7th column naming the reader who drew each box (boxes kept apart by reader).
BBOX_HEADER_READER = "Image Index,Finding Label,Bbox [x,y,w,h],reader"

#: Looked for in this order in a dataset folder.
BBOX_NAMES = ("BBox_List_2017.csv", "BBox_List_2017.csv.gz")

_FINDING_RANK = {name: rank for rank, name in enumerate(FINDINGS)}


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
    fields = [f.strip() for f in next(csv.reader([first_line(path)]), [])]
    if fields[:2] != ["Image Index", "Finding Label"]:
        raise ChestxError(f"{path}: not an NIH BBox file (header {fields[:3]!r})")
    if fields[2:6] == ["x", "y", "w", "h"]:  # plain form, maybe with a score column
        frame = read_rows(path, fields, spare=1)[BBOX_COLUMNS]
    elif fields[-1:] == ["reader"]:  # boxes kept apart by reader
        frame = read_rows(path, [*BBOX_COLUMNS, "reader"], spare=1)
    else:  # NIH's "Bbox [x,y,w,h],,," header
        frame = read_rows(path, BBOX_COLUMNS, spare=max(len(fields) - len(BBOX_COLUMNS), 1))
    frame = frame.apply(lambda col: col.str.strip())
    for column in ("x", "y", "w", "h"):
        frame[column] = to_numbers(path, frame, column, float)
    frame["Finding Label"] = map_cells(path, frame, "Finding Label", canonical)
    return frame.reset_index(drop=True)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float; whole numbers without ``.0``
    (NIH's list prints ``512`` beside ``225.084745762712``)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def write_bbox_list(path: str | os.PathLike,
                    rows: Iterable[tuple[str, str, float, float, float, float]],
                    readers: bool = False) -> Path:
    """Write ``BBox_List_2017.csv`` in NIH's format, atomically; the one writer of that file.

    ``rows`` are ``(Image Index, finding, x, y, w, h)`` with canonical finding names; they are
    written in :data:`chestx.findings.FINDINGS` order, then by image (NIH groups its list by
    finding), under NIH's 9-field header, with ``Infiltrate`` for Infiltration. With
    ``readers``, rows end with a 7th item, the reader, under :data:`BBOX_HEADER_READER`.
    """
    ordered = sorted(rows, key=lambda r: (_FINDING_RANK.get(r[1], len(FINDINGS)), r[0]))
    lines = [BBOX_HEADER_READER if readers else BBOX_HEADER]
    for image, finding, *box in ordered:
        label = BBOX_LIST_SPELLING.get(finding, finding)
        extra = [str(box.pop())] if readers else []
        lines.append(",".join([image, label, *(format_number(v) for v in box), *extra]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def boxes_by_image(frame: pd.DataFrame) -> dict[str, list[Box]]:
    """A box frame (:data:`BBOX_COLUMNS`, e.g. from :func:`read_bbox_list`) ->
    ``{Image Index: [Box, ...]}`` (score 1)."""
    boxes: dict[str, list[Box]] = {}
    for row in frame[BBOX_COLUMNS].itertuples(index=False):
        boxes.setdefault(row[0], []).append(Box(row[2], row[3], row[4], row[5], 1.0, row[1],
                                                row[0]))
    return boxes


def boxes_to_frame(rows: Iterable[tuple[str, Box]]) -> pd.DataFrame:
    """``(image_index, box)`` pairs -> frame with :data:`PRED_COLUMNS` (the PRED.csv format)."""
    records = [(image, box.finding, box.x, box.y, box.w, box.h, box.score)
               for image, box in rows]
    return pd.DataFrame(records, columns=PRED_COLUMNS)


def pred_row(image: str, box: Box, coordinates: str = "%.1f", score: str = "%.4f") -> list[str]:
    """One ``boxes.csv`` row: ``x, y, w, h`` and ``score`` in the %-formats given (a NaN
    score: an empty cell)."""
    return [image, box.finding, *(coordinates % v for v in box.xywh),
            "" if math.isnan(box.score) else score % box.score]


def write_pred_boxes(path: str | os.PathLike, rows: Iterable[Sequence[str]],
                     line_end: str = "\r\n") -> Path:
    """Write ``boxes.csv`` (:data:`PRED_COLUMNS`, rows of :func:`pred_row`) atomically, the
    folder created; the one writer of that table. ``line_end``: ``\\r\\n`` as
    ``predictions.csv`` beside it (``chestx predict``), ``\\n`` for ``chestx evaluate``'s box
    tables, as they have always been written. Returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle, lineterminator=line_end)
        writer.writerow(PRED_COLUMNS)
        writer.writerows(rows)
    return path
