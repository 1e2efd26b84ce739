"""A detected box and its table form.

Boxes are ``x, y, w, h`` in pixels of the image as stored (1024 for NIH), top-left origin,
covering ``[x, x + w) x [y, y + h)``; CSV columns ``Image Index,Finding Label,x,y,w,h,score``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from chestx.data.nih import BBOX_COLUMNS

#: Columns of a box table with scores (``boxes.csv``, PRED.csv): NIH's box columns + score.
PRED_COLUMNS = [*BBOX_COLUMNS, "score"]


@dataclass(frozen=True)
class Box:
    """One box: ``x, y, w, h`` in stored-image pixels, a ``score`` in [0, 1], its finding."""

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    finding: str = ""

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    @property
    def area(self) -> float:
        return self.w * self.h

    def to_dict(self) -> dict:
        """``{"x", "y", "w", "h", "score"}`` as floats (the JSON form)."""
        return {"x": float(self.x), "y": float(self.y), "w": float(self.w),
                "h": float(self.h), "score": float(self.score)}


def boxes_to_frame(rows: Iterable[tuple[str, Box]]) -> pd.DataFrame:
    """``(image_index, box)`` pairs -> frame with :data:`PRED_COLUMNS` (the PRED.csv format)."""
    records = [(image, box.finding, box.x, box.y, box.w, box.h, box.score)
               for image, box in rows]
    return pd.DataFrame(records, columns=PRED_COLUMNS)


def boxes_by_image(frame: pd.DataFrame) -> dict[str, list[Box]]:
    """A box frame (:data:`~chestx.data.nih.BBOX_COLUMNS`, e.g. from
    :func:`chestx.data.nih.read_bbox_list`) -> ``{Image Index: [Box, ...]}`` (score 1)."""
    boxes: dict[str, list[Box]] = {}
    for row in frame[BBOX_COLUMNS].itertuples(index=False):
        boxes.setdefault(row[0], []).append(Box(row[2], row[3], row[4], row[5], 1.0, row[1]))
    return boxes
