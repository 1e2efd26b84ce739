"""Saved heatmaps (``--save-heatmaps``): ``OUT/heatmaps/<image stem>__<Finding>.png``.

Each file is the class map upsampled (registered, :mod:`chestx.localize.registration`) to the
stored image's size and min-max scaled to 8-bit grayscale: 255 at the map's maximum, 0 at its
minimum (a constant map, which points nowhere, is all 255). Anyone can read where a map
points from the file alone: the pointing game of :mod:`chestx.metrics.pointing` on a
saved map gives the same hit as on the float map (up to ties after rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from chestx.atomic import atomic_path
from chestx.localize.heatmaps import normalize_heatmap

#: Folder of the saved heatmaps under a command's ``--out``.
HEATMAP_DIR = "heatmaps"


def heatmap_file_name(stem: str, finding: str) -> str:
    """``<stem>__<finding>.png`` (the overlays' naming)."""
    return f"{stem}__{finding}.png"


def heatmap_uint8(heatmap: np.ndarray) -> np.ndarray:
    """An upsampled map ``(H, W)`` -> uint8 ``(H, W)``, 255 exactly where it is largest
    (other values rounded down, so that no pixel below the maximum reads 255)."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if not float(heatmap.max()) > float(heatmap.min()):
        return np.full(heatmap.shape, 255, dtype=np.uint8)
    levels = np.minimum(np.floor(normalize_heatmap(heatmap)), 254.0)
    levels[heatmap == heatmap.max()] = 255.0
    return levels.astype(np.uint8)


def write_heatmap(out_dir: str | Path, stem: str, finding: str, heatmap: np.ndarray) -> Path:
    """Write one map ``(H, W)`` (already at the stored image's size) atomically; its path."""
    path = Path(out_dir) / heatmap_file_name(stem, finding)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(heatmap_uint8(heatmap), mode="L").save(tmp, format="PNG")
    return path
