"""Accuracy against AFP (FROC-style) and the accuracy at AFP <= 1, worked out by hand."""

import numpy as np
import pandas as pd

from chestx.metrics.localization import froc_points, localization_scores, mean_froc

# Mass on images a and b (one ground-truth box each: n_images = 2, n_boxes = 2)
GT = pd.DataFrame([("a", "Mass", 0, 0, 10, 10), ("b", "Mass", 20, 20, 10, 10),
                   ("a", "Nodule", 80, 80, 4, 4)],
                  columns=["Image Index", "Finding Label", "x", "y", "w", "h"])
PRED = pd.DataFrame([
    ("a", "Mass", 0, 0, 10, 10, 0.9),    # hit
    ("a", "Mass", 50, 50, 10, 10, 0.8),  # false
    ("a", "Mass", 60, 60, 5, 5, 0.3),    # false
    ("b", "Mass", 40, 40, 10, 10, 0.7),  # false
    ("b", "Mass", 20, 20, 10, 10, 0.2),  # hit
    ("c", "Mass", 0, 0, 10, 10, 0.99),   # no Mass ground truth on c: not scored
], columns=["Image Index", "Finding Label", "x", "y", "w", "h", "score"])


def test_froc_points_by_hand():
    points = froc_points(PRED, GT, "iou", 0.5)
    mass = points[points["finding"] == "Mass"]
    # score >= t: 0.9 -> 1 hit, 0 false; 0.8 -> 1, 1; 0.7 -> 1, 2; 0.3 -> 1, 3; 0.2 -> 2, 3
    assert mass["score"].tolist() == [0.9, 0.8, 0.7, 0.3, 0.2]
    assert mass["acc"].tolist() == [0.5, 0.5, 0.5, 0.5, 1.0]
    assert mass["afp"].tolist() == [0.0, 0.5, 1.0, 1.5, 1.5]
    assert points[points["finding"] == "Nodule"].empty  # no Nodule boxes at all


def test_acc_at_afp1_caps_false_positives():
    scores = localization_scores(PRED, GT, generator="test", heatmap="cam")
    row = scores[(scores["measure"] == "iou") & np.isclose(scores["threshold"], 0.5)]
    mass = row.set_index("finding").loc["Mass"]
    # all boxes: both found (Acc 1) with 3 false boxes on 2 images (AFP 1.5); with AFP <= 1
    # only the boxes scored >= 0.7 may stay: Acc 0.5
    assert (mass["acc"], mass["afp"], mass["acc_at_afp1"]) == (1.0, 1.5, 0.5)
    assert row.set_index("finding").loc["Nodule", "acc_at_afp1"] == 0.0
    assert set(scores["generator"]) == {"test"} and set(scores["heatmap"]) == {"cam"}


def test_mean_froc_averages_findings_at_each_score():
    curve = mean_froc(PRED, GT, "iou", 0.5)
    # Nodule has no boxes: Acc 0, AFP 0 at every score, so the mean halves Mass's values
    assert curve["score"].tolist() == [0.9, 0.8, 0.7, 0.3, 0.2]
    assert curve["acc"].tolist() == [0.25, 0.25, 0.25, 0.25, 0.5]
    assert curve["afp"].tolist() == [0.0, 0.25, 0.5, 0.75, 0.75]


def test_no_boxes_at_all_gives_an_empty_curve_and_zero_accuracy():
    empty = PRED.iloc[:0]
    curve = mean_froc(empty, GT, "iou", 0.5)
    assert curve.empty and curve["acc"].dtype == float
    scores = localization_scores(empty, GT)
    assert (scores["acc_at_afp1"] == 0).all() and (scores["afp"] == 0).all()
