"""Pictures like the paper's Tables 8-15: boxes on the image beside the heatmap overlay.

Colours: ground truth blue, a predicted box that hits a ground-truth box of its finding
green, one that hits none red (false positive). Without ground truth the predicted boxes
cannot be judged and are drawn yellow. Each predicted box is labelled with its finding and
probability (or its score when no probability is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from chestx.boxes import Box
from chestx.localize.geometry import OVERLAP
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap

GT_COLOR = (0, 90, 255)
CORRECT_COLOR = (0, 200, 0)
FALSE_COLOR = (230, 0, 0)
UNJUDGED_COLOR = (255, 210, 0)
#: Pictures written by ``localize`` and ``predict`` are at least this tall/wide (small
#: phantoms are enlarged so that labels stay legible).
OVERLAY_MIN_SIDE = 512


def judge_boxes(boxes: Sequence[Box], gt_boxes: Sequence[Box], measure: str = "iobb",
                threshold: float = 0.5) -> list[bool]:
    """For each predicted box: does it hit a ground-truth box of its finding (overlap > T)?"""
    verdicts = []
    for box in boxes:
        same = [g.xywh for g in gt_boxes if not box.finding or g.finding == box.finding]
        overlap = OVERLAP[measure](np.array([box.xywh]), np.array(same).reshape(-1, 4))
        verdicts.append(bool((overlap > threshold).any()))
    return verdicts


def heatmap_rgb(gray: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
                cmap: str = "jet") -> np.ndarray:
    """Blend ``heatmap`` (any ``(h, w)``; upsampled and min-max scaled here) over ``gray (H, W)``.

    Returns uint8 ``(H, W, 3)``.
    """
    from matplotlib import colormaps

    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != gray.shape:
        heat = upsample_heatmap(heat, gray.shape)
    colors = colormaps[cmap](normalize_heatmap(heat, top=1.0))[..., :3]
    base = np.repeat(gray[..., None].astype(np.float32) / 255.0, 3, axis=2)
    return np.round(255.0 * ((1.0 - alpha) * base + alpha * colors)).astype(np.uint8)


def _label(box: Box, probabilities: Mapping[str, float] | None) -> str:
    value = probabilities.get(box.finding, box.score) if probabilities else box.score
    return f"{box.finding} {value:.2f}".strip()


def _draw_box(draw: ImageDraw.ImageDraw, box: Box, color: tuple[int, int, int], width: int,
              font: ImageFont.ImageFont, text: str | None) -> None:
    x0, y0, x1, y1 = box.x, box.y, box.x + box.w - 1, box.y + box.h - 1
    draw.rectangle((x0, y0, max(x0, x1), max(y0, y1)), outline=color, width=width)
    if text:
        left, top, right, bottom = draw.textbbox((x0, y0), text, font=font)
        y_text = y0 - (bottom - top) - 2 * width if y0 - (bottom - top) - 2 * width >= 0 else y1
        draw.rectangle((x0, y_text, x0 + right - left + 2 * width, y_text + bottom - top
                        + 2 * width), fill=color)
        bright = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] > 150
        draw.text((x0 + width, y_text + width - (top - y0)), text,
                  fill=(0, 0, 0) if bright else (255, 255, 255), font=font)


def _scaled(box: Box, scale: int) -> Box:
    return replace(box, x=box.x * scale, y=box.y * scale, w=box.w * scale, h=box.h * scale)


def draw_overlay(gray: np.ndarray, heatmap: np.ndarray | None = None,
                 boxes: Sequence[Box] = (), gt_boxes: Sequence[Box] | None = None,
                 probabilities: Mapping[str, float] | None = None, measure: str = "iobb",
                 threshold: float = 0.5, alpha: float = 0.45, min_side: int = 0
                 ) -> Image.Image:
    """Draw the paper's localization picture.

    Parameters
    ----------
    gray : uint8 ``(H, W)``, the image as stored; boxes are in its pixels.
    heatmap : a class heatmap of any size ``(h, w)`` (e.g. the raw ``(S, S)`` map); when given
        it is upsampled, coloured (jet) and blended over a copy of the image shown on the right.
    boxes : predicted boxes; green when they hit a ground-truth box of their finding with
        ``measure > threshold`` (IoBB > 0.5 by default), red when not, yellow when
        ``gt_boxes`` is None.
    gt_boxes : ground-truth boxes, drawn blue.
    probabilities : finding -> probability for the labels (default: each box's score).
    min_side : a smaller image is drawn ``k`` times larger (pixels repeated, boxes scaled),
        ``k`` the least whole number that makes its shorter side reach ``min_side``, so that
        labels stay legible on small images; 0 draws at the stored size.

    Returns an RGB image of size ``(kW, kH)``, or ``(2kW, kH)`` with the heatmap panel.
    """
    gray = np.asarray(gray, dtype=np.uint8)
    scale = max(1, -(-min_side // min(gray.shape)))  # ceil division
    if scale > 1:
        gray = gray.repeat(scale, axis=0).repeat(scale, axis=1)
        boxes = [_scaled(b, scale) for b in boxes]
        gt_boxes = None if gt_boxes is None else [_scaled(b, scale) for b in gt_boxes]
    height, width = gray.shape
    left = Image.fromarray(gray, mode="L").convert("RGB")
    draw = ImageDraw.Draw(left)
    line = max(1, round(min(height, width) / 256))
    font = ImageFont.load_default(size=max(10, round(min(height, width) / 40)))
    for gt in gt_boxes or ():
        _draw_box(draw, gt, GT_COLOR, line, font, None)
    if gt_boxes is None:
        colors = [UNJUDGED_COLOR] * len(boxes)
    else:
        hits = judge_boxes(boxes, gt_boxes, measure, threshold)
        colors = [CORRECT_COLOR if hit else FALSE_COLOR for hit in hits]
    for box, color in zip(boxes, colors, strict=True):
        _draw_box(draw, box, color, line, font, _label(box, probabilities))
    if heatmap is None:
        return left
    canvas = Image.new("RGB", (2 * width, height))
    canvas.paste(left, (0, 0))
    canvas.paste(Image.fromarray(heatmap_rgb(gray, heatmap, alpha)), (width, 0))
    return canvas
