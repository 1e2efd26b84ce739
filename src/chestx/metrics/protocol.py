"""The paper's localization protocol: which classes are boxed on which image.

For each image of ``BBox_List_2017.csv``, each finding that has a ground-truth box on that
image (and is one of the model's classes) is boxed from its own heatmap, whatever its
probability: localization is scored per class, given the class. The heatmaps of an image
are computed once and every requested generator boxes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from chestx.data.bbox_csv import boxes_to_frame
from chestx.localize.generators import box_findings, build_generator
from chestx.localize.registration import Registration


def ground_truth_findings(gt: pd.DataFrame) -> dict[str, list[str]]:
    """``{Image Index: [findings with a ground-truth box there]}`` of a box frame
    (:func:`chestx.data.nih.read_bbox_list`), images in the frame's order."""
    return gt.groupby("Image Index", sort=False)["Finding Label"].apply(list).to_dict()


def protocol_boxes(heatmaps: Iterable[tuple[str, tuple[int, int], Sequence[str], np.ndarray]],
                   wanted: Mapping[str, Sequence[str]], methods: Sequence[str],
                   registration: Registration | None = None,
                   params: Mapping[str, Mapping] | None = None) -> dict[str, pd.DataFrame]:
    """Box the ground-truth findings of each image with every generator in ``methods``.

    Parameters
    ----------
    heatmaps : ``(image, image_size (H, W), classes, heatmaps (C, S, S))`` per image, or
        ``(..., probabilities (C,))`` with the classes' probabilities for the box scores.
    wanted : :func:`ground_truth_findings`.
    methods : box generator names (:data:`chestx.localize.generators.GENERATORS`).
    registration : where the maps' cells lie on the images
        (:func:`chestx.inference.forward.registration_of` the model).
    params : method -> its generator's parameters (e.g. the fitted levels of ``region``).

    Returns
    -------
    dict
        ``{method: frame of PRED_COLUMNS}``, boxes in pixels of the stored images.
    """
    generators = {m: build_generator(m, **dict((params or {}).get(m, {}))) for m in methods}
    rows: dict[str, list] = {m: [] for m in methods}
    for image, size, classes, maps, *probabilities in heatmaps:
        for method, generator in generators.items():
            rows[method].extend((image, box) for box in box_findings(
                maps, size, classes, wanted[image], generator, *probabilities[:1],
                registration=registration))
    return {m: boxes_to_frame(r) for m, r in rows.items()}
