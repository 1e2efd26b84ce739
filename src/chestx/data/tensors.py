"""Grayscale arrays -> the float tensors every chestx model takes.

:func:`to_tensor` turns a ``uint8 (H, W)`` image from :func:`chestx.data.images.read_gray` into
the ``(1, size, size)`` float tensor in ``[0, 1]``; :func:`resize` is the one resize chestx
uses.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``float (N, C, H, W)`` -> ``(N, C, *size)``, bilinear with antialiasing: the one resize
    chestx uses (files, cache and training's half-size epochs give the same pixels)."""
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False,
                         antialias=True)


def to_tensor(gray: np.ndarray, size: int | None = None) -> torch.Tensor:
    """``uint8 (H, W)`` -> ``float32 (1, size, size)`` in ``[0, 1]``.

    Resizing is bilinear with antialiasing (so 1024 -> 256 does not alias ribs into moire);
    a non-square image is stretched to the square. ``size=None`` keeps ``(1, H, W)``.
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W) array, got {gray.dtype} {gray.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(gray)).to(torch.float32).div_(255.0)[None]
    if size is not None and tuple(tensor.shape[-2:]) != (size, size):
        tensor = resize(tensor[None], (size, size))[0].clamp_(0.0, 1.0)
    return tensor
