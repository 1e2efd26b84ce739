"""A detected box and its table form.

Boxes are ``x, y, w, h`` in pixels of the image as stored (1024 for NIH), top-left origin,
covering ``[x, x + w) x [y, y + h)``; CSV columns ``Image Index,Finding Label,x,y,w,h,score``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

PRED_COLUMNS = ["Image Index", "Finding Label", "x", "y", "w", "h", "score"]


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


def boxes_to_frame(rows: Iterable[tuple[str, Box]]) -> pd.DataFrame:
    """``(image_index, box)`` pairs -> frame with :data:`PRED_COLUMNS` (the PRED.csv format)."""
    records = [(image, box.finding, box.x, box.y, box.w, box.h, box.score)
               for image, box in rows]
    return pd.DataFrame(records, columns=PRED_COLUMNS)
