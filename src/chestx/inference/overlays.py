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
from chestx.localize.heatmap_files import write_heatmap


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
        # upsampled here, where the map's registration is known (cells at their centres)
        heat = prediction.heatmap(finding, gray.shape)
        picture = draw_overlay(gray, heat,
                               prediction.boxes_of(finding), gt, probabilities=probabilities,
                               min_side=OVERLAY_MIN_SIDE)
        path = out_dir / overlay_name(stem, finding)
        with atomic_path(path) as tmp:
            picture.save(tmp, format="PNG")
        written.append(path)
    return written


def write_heatmaps(prediction: Prediction, out_dir: Path, stem: str,
                   truth: Sequence[Box] | None = None) -> list[Path]:
    """Save the registered map of every positive finding and every finding of ``truth`` as
    ``out_dir/<stem>__<Finding>.png`` (:mod:`chestx.localize.heatmap_files`), at the size of
    the image as stored."""
    named = set(prediction.positives) | {box.finding for box in truth or ()}
    return [write_heatmap(out_dir, stem, finding, prediction.heatmap(finding))
            for finding in prediction.classes if finding in named]
