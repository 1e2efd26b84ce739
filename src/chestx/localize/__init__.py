"""Weakly-supervised localization: class heatmaps -> boxes, batch localization, overlays.

- :func:`heatmap_to_boxes` and the generator registry (``paper``, ``peak``) in
  :mod:`chestx.localize.generators`;
- :func:`chestx.localize.drawing.draw_overlay` draws boxes and heatmaps like the paper.
"""

from chestx.localize.generators import (
    GENERATORS,
    PeakBoxGenerator,
    ThresholdBoxGenerator,
    build_generator,
    heatmap_to_boxes,
    register_generator,
)
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap

__all__ = [
    "GENERATORS",
    "PeakBoxGenerator",
    "ThresholdBoxGenerator",
    "build_generator",
    "heatmap_to_boxes",
    "normalize_heatmap",
    "register_generator",
    "upsample_heatmap",
]
