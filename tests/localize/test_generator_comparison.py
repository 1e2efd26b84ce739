"""The ``peak`` generator against the paper's on the same class-activation-like heatmaps.

Each heatmap is what a good CAM of an 8 x 8 transition layer would show for one lesion: the
lesion's mask (an ellipse filling its box on a 256-px image) averaged over the 32-px cells,
blurred by a receptive-field overlap (Gaussian, 0.5 cell) and scaled to peak 1, plus uniform
noise (0.3 of the peak) standing in for the rest of the image. Lesions are 10-120 px, like
the phantoms' nodules to hearts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from chestx.data.bbox_csv import BBOX_COLUMNS, boxes_to_frame
from chestx.localize import build_generator
from chestx.metrics.localization import MEASURES, localization_scores, mean_acc

SIZE, CELLS = 256, 8


def _lesions(n: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for i in range(n):
        w, h = rng.uniform(10, 120, size=2)
        x, y = rng.uniform(0, SIZE - w), rng.uniform(0, SIZE - h)
        rows.append((f"{i:03d}.png", "Mass", x, y, w, h))
    return pd.DataFrame(rows, columns=BBOX_COLUMNS)


def _cam(x: float, y: float, w: float, h: float, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    mask = ((xx - x - w / 2) / (w / 2)) ** 2 + ((yy - y - h / 2) / (h / 2)) ** 2 <= 1
    step = SIZE // CELLS
    cam = ndimage.gaussian_filter(mask.reshape(CELLS, step, CELLS, step).mean((1, 3)), 0.5)
    return cam / cam.max() + 0.3 * rng.random((CELLS, CELLS))


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    gt = _lesions(150, rng)
    heatmaps = [_cam(r.x, r.y, r.w, r.h, rng) for r in gt.itertuples()]
    out = {}
    probabilities = rng.uniform(0.3, 0.9, len(gt))  # the class probabilities of the images
    for method in ("paper", "peak", "region"):
        generator = build_generator(method)
        rows = [(image, box) for image, heat, p in zip(gt["Image Index"], heatmaps,
                                                       probabilities, strict=True)
                for box in generator(heat, (SIZE, SIZE), "Mass", probability=p)]
        out[method] = localization_scores(boxes_to_frame(rows), gt)
    return out


def _afp(scores: pd.DataFrame, measure: str, threshold: float) -> float:
    rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]
    return float(rows["afp"].mean())


def test_peak_is_at_least_as_accurate_everywhere_and_better_at_strict_thresholds(scores):
    peak, paper = scores["peak"], scores["paper"]
    for measure, thresholds in MEASURES.items():
        for threshold in thresholds:
            assert mean_acc(peak, measure, threshold) >= mean_acc(paper, measure, threshold)
    for measure, threshold in (("iobb", 0.5), ("iobb", 0.75), ("iou", 0.5), ("iou", 0.6)):
        assert mean_acc(peak, measure, threshold) >= mean_acc(paper, measure, threshold) + 0.03


def test_peak_has_far_fewer_false_positives(scores):
    for measure, threshold in (("iobb", 0.5), ("iou", 0.3)):
        assert _afp(scores["peak"], measure, threshold) < 0.5 * _afp(scores["paper"], measure,
                                                                     threshold)


def test_default_region_beats_the_paper_at_afp_up_to_one(scores):
    # the summary number of localization.csv: accuracy with at most 1 false box per image
    region, paper = scores["region"], scores["paper"]
    for measure, threshold in (("iobb", 0.5), ("iou", 0.3)):
        def capped(s, m=measure, t=threshold):
            rows = s[(s["measure"] == m) & np.isclose(s["threshold"], t)]
            return float(rows["acc_at_afp1"].mean())
        assert capped(region) >= capped(paper)
        assert _afp(region, measure, threshold) <= 1.0  # one box per finding
    assert _afp(region, "iobb", 0.5) < _afp(paper, "iobb", 0.5) / 5
