"""Overlays like the paper: ground truth blue, hits green, false positives red."""

from __future__ import annotations

import numpy as np

from chestx.boxes import Box
from chestx.localize.drawing import (
    CORRECT_COLOR,
    FALSE_COLOR,
    GT_COLOR,
    UNJUDGED_COLOR,
    draw_overlay,
    heatmap_rgb,
    judge_boxes,
)


def _pixel(image, x, y):
    return tuple(image.getpixel((x, y)))


def test_colours_follow_the_paper():
    gray = np.full((256, 256), 100, dtype=np.uint8)
    gt = [Box(40, 40, 100, 100, finding="Mass")]
    hit = Box(60, 60, 50, 50, score=0.7, finding="Mass")     # IoBB 1 with the truth
    miss = Box(180, 180, 40, 40, score=0.4, finding="Mass")  # disjoint
    image = draw_overlay(gray, None, [hit, miss], gt, {"Mass": 0.83})
    assert image.size == (256, 256) and image.mode == "RGB"
    # left edges, half-way down (labels sit on the top edges)
    assert _pixel(image, 40, 120) == GT_COLOR
    assert _pixel(image, 60, 100) == CORRECT_COLOR
    assert _pixel(image, 180, 210) == FALSE_COLOR
    assert _pixel(image, 128, 20) == (100, 100, 100)  # untouched background


def test_boxes_without_ground_truth_are_unjudged_and_labels_drawn():
    gray = np.full((256, 256), 100, dtype=np.uint8)
    box = Box(60, 100, 80, 80, score=0.5, finding="Nodule")
    plain = draw_overlay(gray, None, [box])
    assert _pixel(plain, 60, 150) == UNJUDGED_COLOR
    # the label "Nodule 0.50" is drawn in a filled tag just above the box (rows 90..99)
    tag = np.asarray(plain)[90:100, 60:118]
    assert (tag == UNJUDGED_COLOR).all(axis=2).mean() > 0.4
    assert (tag.max(axis=2) < 90).any()  # black text on the yellow tag


def test_heatmap_panel_doubles_the_width_and_is_hot_at_the_peak():
    gray = np.full((64, 96), 128, dtype=np.uint8)
    heatmap = np.zeros((4, 6), dtype=np.float32)
    heatmap[1, 4] = 1.0  # hot cell: rows 16..32, cols 64..80
    image = draw_overlay(gray, heatmap, [])
    assert image.size == (192, 64)
    right = np.asarray(image)[:, 96:].astype(int)
    hot, cold = right[24, 72], right[60, 5]
    assert hot[0] > hot[2] + 50   # jet: red at the peak
    assert cold[2] > cold[0] + 30  # blue far from it
    assert (np.asarray(image)[:, :96] == 128).all()  # left panel: the image untouched


def test_heatmap_rgb_blends_with_alpha():
    gray = np.zeros((8, 8), dtype=np.uint8)
    assert heatmap_rgb(gray, np.ones((8, 8)), alpha=0.0).max() == 0
    full = heatmap_rgb(gray, np.eye(8), alpha=1.0)
    assert full.shape == (8, 8, 3) and full.dtype == np.uint8
    assert tuple(full[0, 0]) == (128, 0, 0)  # jet(1.0): dark red


def test_judge_boxes_by_finding_and_threshold():
    gt = [Box(0, 0, 100, 100, finding="Mass"), Box(200, 200, 50, 50, finding="Nodule")]
    boxes = [Box(10, 10, 20, 20, finding="Mass"), Box(210, 210, 20, 20, finding="Mass"),
             Box(0, 0, 200, 200, finding="Mass")]
    # the second box sits on a Nodule, not a Mass; the third has IoBB 1/4 with the Mass
    assert judge_boxes(boxes, gt) == [True, False, False]
    assert judge_boxes(boxes, gt, "iobb", 0.2) == [True, False, True]
    assert judge_boxes(boxes, gt, "iou", 0.03) == [True, False, True]
    assert judge_boxes(boxes, []) == [False, False, False]


def test_small_images_are_drawn_enlarged_with_their_boxes():
    gray = np.full((64, 48), 100, dtype=np.uint8)
    box = Box(10, 20, 16, 12, finding="Mass")
    image = draw_overlay(gray, None, [box], min_side=128)
    # shorter side 48 -> 3 x 48 = 144 >= 128 (2 x 48 = 96 is not enough)
    assert image.size == (144, 192)
    assert _pixel(image, 30, 80) == UNJUDGED_COLOR  # left edge x = 3 x 10, mid-height
    assert _pixel(image, 31 + 3, 80) == (100, 100, 100)  # inside the box: image untouched
    assert _pixel(image, 30 + 3 * 16 - 1, 80) == UNJUDGED_COLOR  # right edge x = 3 x 26 - 1
    assert draw_overlay(gray, None, [box], min_side=40).size == (48, 64)  # big enough already
