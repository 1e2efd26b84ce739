"""Class maps of the images that have ground-truth boxes: computed once, then boxed by every
generator, scored by the pointing game, fitted (the box extent) and saved as files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from chestx.data.images import read_gray
from chestx.errors import ChestxError
from chestx.findings import DEFAULT_THRESHOLD
from chestx.inference.forward import localize_images, registration_of
from chestx.localize.extent import BoxExtent, MapItem, fit_extent, level_overlaps
from chestx.localize.heatmap_files import write_heatmap
from chestx.localize.heatmaps import upsample_heatmap
from chestx.localize.registration import Registration
from chestx.localize.sources import DEFAULT_SOURCE
from chestx.metrics.protocol import ground_truth_findings
from chestx.progress import track


def ground_truth_maps(model: torch.nn.Module, paths: Mapping[str, Path], gt: pd.DataFrame,
                      batch_size: int = 8, progress: bool = True,
                      heatmap: str = DEFAULT_SOURCE
                      ) -> tuple[list[MapItem], dict[str, str]]:
    """Maps of every image of ``gt`` (a ``read_bbox_list`` frame), found by name in ``paths``.

    Returns ``([(image, image_size (H, W), classes, heatmaps (C, S, S), probabilities (C,))],
    problems)``; ``problems`` maps each image that was missing or unreadable (and is
    skipped) to a one-line message. Gradient sources compute only the ground-truth classes.
    """
    wanted = ground_truth_findings(gt)
    names = list(wanted)
    problems: dict[str, str] = {}
    maps: list[MapItem] = []
    chunks = [names[i:i + batch_size] for i in range(0, len(names), batch_size)]
    for chunk in track(chunks, "localizing", enabled=progress):
        images, kept = [], []
        for name in chunk:
            try:
                if name not in paths:
                    raise ChestxError(f"{name}: image not found")
                images.append(read_gray(paths[name]))
                kept.append(name)
            except ChestxError as exc:
                problems[name] = str(exc)
        asked = sorted({f for name in kept for f in wanted[name]})
        for p in localize_images(model, images, findings=[], batch_size=batch_size,
                                 names=kept, heatmap=heatmap, heatmap_classes=asked):
            maps.append((p.image, p.image_size, p.classes, p.heatmaps, p.probabilities))
    return maps, problems


def fit_box_extent(model: torch.nn.Module, paths: Mapping[str, Path], gt: pd.DataFrame,
                   calibrated_on: str, batch_size: int = 8, progress: bool = True,
                   heatmap: str = DEFAULT_SOURCE) -> tuple[BoxExtent, dict[str, str]]:
    """The box extent fitted on the calibration boxes ``gt``
    (:func:`chestx.localize.extent.fit_extent`) and the images that could not be read."""
    maps, problems = ground_truth_maps(model, paths, gt, batch_size, progress, heatmap)
    gt = gt[~gt["Image Index"].isin(set(problems))]
    overlaps = level_overlaps(maps, gt, registration=registration_of(model))
    return fit_extent(overlaps, calibrated_on, int(model.config.heatmap_size)), problems


def save_ground_truth_maps(maps: Sequence[MapItem], gt: pd.DataFrame, out_dir: str | os.PathLike,
                           registration: Registration | None = None,
                           threshold: float = DEFAULT_THRESHOLD) -> list[Path]:
    """``out_dir/<stem>__<Finding>.png`` for every finding with a box on the image, or
    predicted positive (probability >= ``threshold``) when its map was computed."""
    wanted = ground_truth_findings(gt)
    written = []
    for image, size, classes, heatmaps, probabilities in maps:
        named = set(wanted.get(image, ())) | {c for c, p in zip(classes, probabilities,
                                                                strict=True) if p >= threshold}
        for c, finding in enumerate(classes):
            if finding in named and np.any(heatmaps[c]):
                up = upsample_heatmap(heatmaps[c], tuple(size), registration)
                written.append(write_heatmap(out_dir, Path(image).stem, finding, up))
    return written
