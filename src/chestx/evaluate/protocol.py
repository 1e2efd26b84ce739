"""Localize the ground-truth images of a dataset folder (for ``chestx evaluate``).

Which classes are boxed: for each image of ``BBox_List_2017.csv``, each finding that has a
ground-truth box on that image (and is one of the model's classes) is boxed from its own
heatmap, whatever its probability — the paper's protocol: localization is scored per class,
given the class. The heatmaps are computed once and every requested generator boxes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from chestx.errors import ChestxError
from chestx.inference.forward import box_findings, localize_images
from chestx.localize.boxes import boxes_to_frame
from chestx.localize.generators import DEFAULT_METHOD, build_generator
from chestx.progress import track


def localize_ground_truth(model: torch.nn.Module, root: str | os.PathLike, gt: pd.DataFrame,
                          methods: Sequence[str] = (DEFAULT_METHOD, "paper"),
                          batch_size: int = 8, progress: bool = True
                          ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Box every ground-truth image of ``gt`` (a ``read_bbox_list`` frame) under ``root``.

    Returns ``({method: PRED frame (Image Index,Finding Label,x,y,w,h,score)}, problems)``:
    boxes in pixels of the stored images; ``problems`` maps each image that was missing or
    unreadable (and is skipped) to a one-line message.
    """
    from chestx.data.images import read_gray
    from chestx.data.nih import find_images

    paths = find_images(root)
    wanted = gt.groupby("Image Index", sort=False)["Finding Label"].apply(list)
    generators = {m: build_generator(m) for m in methods}
    rows: dict[str, list] = {m: [] for m in methods}
    problems: dict[str, str] = {}
    names = list(wanted.index)
    chunks = [names[i:i + batch_size] for i in range(0, len(names), batch_size)]
    for chunk in track(chunks, "localizing", enabled=progress):
        images, kept = [], []
        for name in chunk:
            try:
                if name not in paths:
                    raise ChestxError(f"{Path(root) / 'images' / name}: image not found")
                images.append(read_gray(paths[name]))
                kept.append(name)
            except ChestxError as exc:
                problems[name] = str(exc)
        if not kept:
            continue
        for name, loc in zip(kept, localize_images(model, images, findings=[],
                                                   batch_size=batch_size), strict=True):
            for method, generator in generators.items():
                rows[method].extend((name, box) for box in
                                    box_findings(loc, wanted[name], generator))
    return {m: boxes_to_frame(r) for m, r in rows.items()}, problems
