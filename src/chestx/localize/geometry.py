"""Box geometry: IoU and IoBB of ``x, y, w, h`` boxes (pixels, top-left origin).

A box covers the continuous area ``[x, x + w) x [y, y + h)``, so its area is ``w * h``:

- ``IoU(p, g) = area(p ∩ g) / area(p ∪ g)``;
- ``IoBB(p, g) = area(p ∩ g) / area(p)`` (intersection over the detected box).

Used by the overlays (which boxes hit) and by :mod:`chestx.metrics.localization` (scores).
"""

from __future__ import annotations

import numpy as np


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection areas of boxes ``a (..., 4)`` and ``b (..., 4)`` (broadcast, ``x, y, w, h``)."""
    width = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0],
                                                                                  b[..., 0])
    height = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1],
                                                                                   b[..., 1])
    return np.clip(width, 0, None) * np.clip(height, 0, None)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with 0 where the denominator is 0 (degenerate boxes)."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter = _intersection(a, b)
    return _ratio(inter, a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter)


def _iobb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _ratio(_intersection(a, b), a[..., 2] * a[..., 3] + 0 * b[..., 2])


#: Overlap of predicted boxes ``a`` with ground-truth boxes ``b`` (broadcasting ``(..., 4)``).
ELEMENTWISE = {"iou": _iou, "iobb": _iobb}


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def box_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Intersection over union, ``pred (N, 4)`` x ``gt (M, 4)`` (``x, y, w, h``) -> ``(N, M)``."""
    return _iou(_as_boxes(pred)[:, None], _as_boxes(gt)[None, :])


def box_iobb(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Intersection over the detected box's area, ``pred (N, 4)`` x ``gt (M, 4)`` -> ``(N, M)``."""
    return _iobb(_as_boxes(pred)[:, None], _as_boxes(gt)[None, :])


OVERLAP = {"iou": box_iou, "iobb": box_iobb}
