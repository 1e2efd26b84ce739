"""Checks on an image before the model sees it: pictures that cannot be a chest radiograph.

Each check is one rule with an id and a reason naming what was measured; an image that fails
any is flagged out of distribution with those reasons (the model still runs on it, and its
findings are given, marked). The limits are in :class:`InputLimits`, each with the why:

- ``too-small``: a side under ``min_side`` pixels carries no reading detail;
- ``near-constant``: a gray-level standard deviation under ``min_std`` (blank, one colour);
- ``colour``: a mean chroma (``max - min`` of R, G, B per pixel) over ``max_chroma`` of 255;
  a radiograph saved as RGB has equal channels (chroma 0), a JPEG of one a few levels;
- ``noise``: neighbouring pixels uncorrelated (lag-1 autocorrelation, across rows and
  columns, under ``min_autocorrelation``): a radiograph is smooth at the pixel scale (above
  0.9 at any size chestx reads), white noise is at 0;
- ``two-tone``: a page of text or a line drawing: more than ``min_paper`` of the pixels
  within ``paper_band`` gray levels of the most common level (the paper), and under
  ``max_midtones`` of them at intermediate levels between paper and ink, and at least
  ``min_ink`` of them near the other extreme (the ink); a radiograph,
  even with a wide uniform border, has a continuum of grays in the body.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

#: Formats read for their colour (DICOM is gray by definition of the modality).
_COLOUR_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class InputLimits:
    """Limits of the input checks (see the module docstring for the why of each)."""

    min_side: int = 64
    min_std: float = 4.0
    max_chroma: float = 12.0
    paper_band: int = 24
    min_paper: float = 0.5
    max_midtones: float = 0.08
    min_ink: float = 0.01
    min_autocorrelation: float = 0.3


def chroma(source: str | os.PathLike | BinaryIO, side: int = 256) -> float:
    """Mean ``max - min`` over R, G, B of the pixels of a file (by path: PNG or JPEG) or of
    encoded bytes (a file object), 0 for gray modes, DICOM and what PIL cannot read; measured
    on a copy at most ``side`` pixels wide."""
    if isinstance(source, (str, os.PathLike)) and \
            Path(source).suffix.lower() not in _COLOUR_SUFFIXES:
        return 0.0
    try:
        with Image.open(source) as image:
            if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
                return 0.0
            image.thumbnail((side, side))
            rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    except (OSError, UnidentifiedImageError, ValueError):
        return 0.0
    return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())


def check_image(gray: np.ndarray, colour: float = 0.0,
                limits: InputLimits = InputLimits()) -> list[str]:
    """The reasons ``gray`` (``uint8 (H, W)``) cannot be a radiograph; ``[]`` when none.

    ``colour``: the file's :func:`chroma` (0 when unknown)."""
    reasons = []
    height, width = gray.shape[:2]
    if min(height, width) < limits.min_side:
        reasons.append(f"too-small: {width} x {height} px (under {limits.min_side} px)")
    values = np.asarray(gray, dtype=np.float64)
    std = float(values.std())
    if std < limits.min_std:
        reasons.append(f"near-constant: gray-level std {std:.1f} (under {limits.min_std:g})")
    if colour > limits.max_chroma:
        reasons.append(f"colour: mean chroma {colour:.0f} of 255 (a photograph; over "
                       f"{limits.max_chroma:g})")
    if std >= limits.min_std:
        correlation = autocorrelation(values)
        if correlation < limits.min_autocorrelation:
            reasons.append(f"noise: neighbouring pixels correlate {correlation:.2f} (under "
                           f"{limits.min_autocorrelation:g})")
        paper, midtones, ink = two_tone(gray, limits.paper_band)
        if paper > limits.min_paper and midtones < limits.max_midtones and \
                ink >= limits.min_ink:
            reasons.append(f"two-tone: {paper:.0%} of pixels paper, {midtones:.1%} mid-tones "
                           "(a page of text or a drawing)")
    return reasons


def autocorrelation(values: np.ndarray) -> float:
    """Mean lag-1 correlation of ``(H, W)`` pixel values with their right and lower
    neighbours (Pearson, over the whole image)."""
    pairs = ((values[:, :-1], values[:, 1:]), (values[:-1, :], values[1:, :]))
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant image: no correlation
        correlations = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in pairs]
    return float(np.nan_to_num(np.mean(correlations), nan=1.0))


def two_tone(gray: np.ndarray, band: int = InputLimits.paper_band
             ) -> tuple[float, float, float]:
    """``(paper, midtones, ink)``: the share of pixels within ``band`` levels of the most
    common gray level, the share between 25 % and 75 % of the way from it to the farthest
    extreme, and the share beyond 75 % (the ink)."""
    histogram = np.bincount(np.asarray(gray, dtype=np.uint8).ravel(), minlength=256)
    total = histogram.sum()
    paper = int(np.argmax(histogram))
    levels = np.arange(256)
    near = np.abs(levels - paper) <= band
    ink = 0 if paper >= 128 else 255
    distance = np.abs(levels - paper) / max(abs(ink - paper), 1)
    middle = (distance >= 0.25) & (distance <= 0.75)
    return (float(histogram[near].sum() / total), float(histogram[middle].sum() / total),
            float(histogram[distance > 0.75].sum() / total))
