"""Per-request results kept in memory, and their pictures rendered on demand as PNG.

Nothing is written to disk: a result is the display-sized grayscale image and the low-resolution
heatmaps, a few hundred kilobytes, and the oldest results are dropped once ``max_items`` are
held. Heatmap PNGs are rendered when the page asks for them (one finding at a time).
"""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap
from chestx.localize.registration import Registration

#: Longest side of the image the page shows (the heatmap PNG is rendered to the same size).
DISPLAY_MAX_SIDE = 1024

#: Heatmaps are rendered to at most this side; the browser scales them smoothly.
HEATMAP_MAX_SIDE = 512


@dataclass(frozen=True)
class StoredResult:
    """One prediction kept for the page: ``display`` is ``uint8 (h, w)``, ``heatmaps``
    is ``float32 (C, S, S)`` and ``classes`` names its first axis; ``registration`` places
    the maps' cells on the image (:func:`chestx.inference.forward.registration_of`)."""

    display: np.ndarray
    heatmaps: np.ndarray
    classes: tuple[str, ...]
    registration: Registration | None = None


class ResultStore:
    """Thread-safe, size-bounded map from a random request id to a :class:`StoredResult`."""

    def __init__(self, max_items: int = 64) -> None:
        self.max_items = max(1, int(max_items))
        self._items: OrderedDict[str, StoredResult] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, result: StoredResult) -> str:
        """Keep ``result``; return its new id (dropping the oldest result when full)."""
        result_id = uuid.uuid4().hex
        with self._lock:
            self._items[result_id] = result
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return result_id

    def get(self, result_id: str) -> StoredResult | None:
        with self._lock:
            return self._items.get(result_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def display_image(gray: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """``uint8 (H, W)`` -> the same image with its longest side at most ``max_side``."""
    height, width = gray.shape
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS))


def png_bytes(pixels: np.ndarray) -> bytes:
    """``uint8 (H, W)`` or ``(H, W, 4)`` -> PNG file bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue()


def heatmap_rgba(heatmap: np.ndarray, size: tuple[int, int], cmap: str = "jet",
                 registration: Registration | None = None) -> np.ndarray:
    """A class activation map ``(S, S)`` -> coloured ``uint8 (H, W, 4)`` at ``size = (H, W)``.

    The map is stretched to ``[0, 1]`` over this image (min-max, like the paper's heatmap
    figures) and bilinearly upsampled; alpha grows with the value so that cold regions leave
    the X-ray visible under the hot ones.
    """
    from matplotlib import colormaps

    values = normalize_heatmap(upsample_heatmap(heatmap, size, registration), top=1.0)
    rgba = colormaps[cmap](values)
    rgba[..., 3] = np.clip(0.15 + 1.1 * values, 0.0, 1.0)
    return (rgba * 255.0 + 0.5).astype(np.uint8)


def heatmap_png(result: StoredResult, index: int, max_side: int = HEATMAP_MAX_SIDE) -> bytes:
    """The PNG the page lays over the image for finding ``index`` of ``result``."""
    height, width = result.display.shape
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return png_bytes(heatmap_rgba(result.heatmaps[index], size,
                                  registration=result.registration))
