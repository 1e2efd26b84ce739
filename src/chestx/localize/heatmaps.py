"""Heatmap arithmetic: class activation maps, upsampling and the paper's [0, 255] scaling."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from chestx.localize.registration import Registration, upsample_registered


def upsample_heatmap(heatmap: np.ndarray | torch.Tensor, size: tuple[int, int],
                     registration: Registration | None = None) -> np.ndarray:
    """Bilinear upsampling of one heatmap ``(S, S)`` (or a stack ``(C, S, S)``) to ``size``.

    ``size`` is ``(H, W)``; returns float32 ``(H, W)`` (or ``(C, H, W)``). With
    ``registration`` (:func:`chestx.inference.forward.registration_of` the model that
    made the map) each cell is drawn at its receptive field's centre; without, the map is
    resized as an image (``align_corners=False``: cell ``i`` at the middle of the ``i``-th of
    ``S`` equal tiles), which is right only for maps that are not a network's cells.
    """
    if registration is not None:
        return upsample_registered(heatmap, size, registration)
    tensor = torch.as_tensor(heatmap, dtype=torch.float32)
    stacked = tensor[None] if tensor.ndim == 3 else tensor[None, None]
    out = F.interpolate(stacked, size=tuple(int(s) for s in size), mode="bilinear",
                        align_corners=False)
    return (out[0] if tensor.ndim == 3 else out[0, 0]).numpy()


def normalize_heatmap(heatmap: np.ndarray, top: float = 255.0) -> np.ndarray:
    """Min-max scale a heatmap ``(H, W)`` to ``[0, top]`` (the paper: ``[0, 255]``).

    A constant map (no spatial evidence) becomes all zeros, so no threshold above 0 fires.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    low, high = float(heatmap.min()), float(heatmap.max())
    if not high > low:
        return np.zeros_like(heatmap)
    return (heatmap - low) * (top / (high - low))


def work_shape(image_size: tuple[int, int], work_size: int | None) -> tuple[int, int]:
    """Where boxes are cut: ``image_size (H, W)``, or scaled so the longer side is ``work_size``."""
    height, width = (int(s) for s in image_size)
    if work_size is None or max(height, width) <= work_size:
        return height, width
    scale = work_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))
