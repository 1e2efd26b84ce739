"""The one overlay writer: ``<stem>__<Finding>.png``, the image with its boxes beside the
finding's heatmap (:func:`chestx.localize.drawing.draw_overlay`), for every command."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chestx.atomic import atomic_path
from chestx.boxes import Box
from chestx.inference.forward import Prediction
from chestx.localize.drawing import OVERLAY_MIN_SIDE, draw_overlay


def overlay_name(stem: str, finding: str) -> str:
    """File name of the overlay of ``finding`` on the image ``stem``."""
    return f"{stem}__{finding}.png"


def overlay_findings(prediction: Prediction) -> list[str]:
    """Findings worth a picture: the positive ones, or the most probable one when none is."""
    return prediction.positives or [prediction.classes[int(np.argmax(prediction.probabilities))]]


def write_overlays(prediction: Prediction, gray: np.ndarray, out_dir: Path, stem: str,
                   truth: Sequence[Box] | None = None) -> list[Path]:
    """Save :func:`overlay_name` pictures in ``out_dir``, one per :func:`overlay_findings`.

    Parameters
    ----------
    prediction : with its heatmaps (``(C, S, S)``) and boxes.
    gray : uint8 ``(H, W)``, the image as stored (the boxes' pixels).
    out_dir : folder (created when missing).
    stem : the image's name without suffix, unique within ``out_dir``.
    truth : ground-truth boxes of the image (any findings): drawn blue, and each predicted box
        green (a hit) or red; ``None``: no ground truth, predicted boxes yellow.
    """
    probabilities = dict(zip(prediction.classes, map(float, prediction.probabilities),
                             strict=True))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for finding in overlay_findings(prediction):
        gt = None if truth is None else [box for box in truth if box.finding == finding]
        picture = draw_overlay(gray, prediction.heatmaps[prediction.index(finding)],
                               prediction.boxes_of(finding), gt, probabilities=probabilities,
                               min_side=OVERLAY_MIN_SIDE)
        path = out_dir / overlay_name(stem, finding)
        with atomic_path(path) as tmp:
            picture.save(tmp, format="PNG")
        written.append(path)
    return written
