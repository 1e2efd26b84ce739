"""The one box type of chestx: a finding's box on an image, with an optional score.

``x, y, w, h`` are pixels of the stored image, top-left origin; a hand-drawn box scores 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """One box covering ``[x, x + w) x [y, y + h)`` in pixels of the image as stored (1024 for
    NIH), top-left origin.

    Attributes
    ----------
    x, y, w, h : the box, in pixels.
    score : confidence in [0, 1] (1 for a drawn box).
    finding : the finding's NIH name (``""`` when not known yet).
    image : the image's ``Image Index`` (``""`` when it is implied).
    """

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    finding: str = ""
    image: str = ""

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
