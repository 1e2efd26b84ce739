"""Image files -> one grayscale channel (no torch here: see :mod:`chestx.data.tensors`).

:func:`read_gray` is the one way chestx reads a pixel file: PNG (modes ``1``, ``L``, ``P``,
``RGB``, ``RGBA``, ``LA``, ``I;16``, ``I``, ``F``), JPEG and DICOM all come back as a
``uint8`` array of shape ``(H, W)``. :func:`chestx.data.tensors.to_tensor` turns that into
the ``(1, size, size)`` float tensor in ``[0, 1]`` that every model in chestx takes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from chestx.errors import ChestxError

#: File suffixes read as DICOM without looking at the bytes.
DICOM_SUFFIXES = (".dcm", ".dicom")

#: Suffixes of the image files chestx picks up in a folder (explicit files are read whatever
#: their name).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", *DICOM_SUFFIXES)


def is_dicom(path: str | os.PathLike) -> bool:
    """True when ``path`` ends in ``.dcm``/``.dicom`` or has the ``DICM`` magic at byte 128."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as one 8-bit grayscale channel.

    Returns ``uint8`` array of shape ``(H, W)``, as stored (not resized).

    - ``L`` is returned as is; ``RGB``/``RGBA``/``LA``/``P``/``1`` go through PIL's luminance
      conversion (alpha is dropped: NIH's few RGBA files are opaque).
    - ``I;16``/``I`` (integers above 8 bits) are scaled linearly from ``[0, 2**bits - 1]`` to
      ``[0, 255]``, where ``bits`` is the smallest of 8, 10, 12, 14, 16, 32 that holds the
      image's maximum: a full 16-bit image is divided by 257, a 12-bit one by 4095/255, and
      8-bit values stored in 16 bits stay unchanged. ``F`` (float) is min-max stretched.
    - DICOM (suffix ``.dcm`` or the ``DICM`` magic) is delegated to
      :func:`chestx.data.dicom.read_dicom_gray`.

    Raises :class:`~chestx.errors.ChestxError` naming the file when it is missing, not an
    image, truncated or corrupt; never returns a blank image instead.
    """
    path = Path(path)
    if not path.is_file():
        raise ChestxError(f"{path}: image not found")
    if is_dicom(path):
        from chestx.data.dicom import read_dicom_gray  # lazy: only DICOM users need pydicom

        return read_dicom_gray(path)
    try:
        with Image.open(path) as img:
            img.load()
            gray = _pil_to_gray(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ChestxError(f"{path}: cannot read image ({exc})") from exc
    if gray.ndim != 2 or gray.size == 0:
        raise ChestxError(f"{path}: not a 2-D image (shape {gray.shape})")
    return gray


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    """PIL image of any mode -> ``uint8 (H, W)`` (see :func:`read_gray` for the rules)."""
    if img.mode == "L":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode.startswith("I"):  # I;16, I;16B, I;16L, I
        return integer_to_uint8(np.asarray(img))
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return np.round((values - low) * scale).astype(np.uint8)
    return np.asarray(img.convert("L"), dtype=np.uint8).copy()


def integer_to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale an integer image of shape ``(H, W)`` to ``uint8`` by its bit depth.

    Negative values (signed ``I`` images) are shifted to start at 0 first. The bit depth is
    the smallest of 8, 10, 12, 14, 16, 32 that holds the maximum; values are scaled from
    ``[0, 2**bits - 1]`` to ``[0, 255]`` and rounded.
    """
    values = values.astype(np.int64)
    if values.size and values.min() < 0:
        values = values - values.min()
    top = int(values.max()) if values.size else 0
    bits = next(b for b in (8, 10, 12, 14, 16, 32) if top <= 2**b - 1)
    if bits == 8:
        return values.astype(np.uint8)
    scaled = values.astype(np.float64) * (255.0 / (2**bits - 1))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)
