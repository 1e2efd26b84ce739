"""Classification metrics: AUC against the Mann-Whitney formula, undefined classes, ROC."""

import math

import numpy as np
import pandas as pd
import pytest

from chestx.metrics.classification import auc_table, mean_auc, per_class_auc, plot_roc


def _mann_whitney(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties count one half."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_per_class_auc_matches_mann_whitney():
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 3)) < 0.3).astype(np.float32)
    scores = labels * 0.4 + rng.random((60, 3))
    scores[:5, 2] = 0.5  # ties
    labels[:5, 2] = [1, 0, 1, 0, 0]
    got = per_class_auc(labels, scores)
    for c in range(3):
        assert math.isclose(got[c], _mann_whitney(labels[:, c], scores[:, c]), rel_tol=1e-12)


def test_hand_computed_auc():
    labels = np.array([[1], [1], [0], [0], [0]])
    scores = np.array([[0.9], [0.3], [0.5], [0.2], [0.1]])
    # positives 0.9 beats all 3; 0.3 beats 0.2 and 0.1 -> 5 / 6
    assert per_class_auc(labels, scores)[0] == 5 / 6


def test_class_without_positives_is_empty_not_a_crash(tmp_path):
    labels = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=np.float32)
    scores = np.array([[0.8, 0.1], [0.2, 0.3], [0.6, 0.2], [0.4, 0.9]])
    table = auc_table(labels, scores, ["Mass", "Hernia"])
    assert list(table["finding"]) == ["Mass", "Hernia", "mean"]
    assert table.loc[0, "auc"] == 1.0 and math.isnan(table.loc[1, "auc"])
    assert table.loc[2, "auc"] == 1.0  # mean of the defined ones
    assert list(table["n_pos"]) == [2, 0, 2] and list(table["n_neg"]) == [2, 4, 6]
    table.to_csv(tmp_path / "auc.csv", index=False)
    assert pd.read_csv(tmp_path / "auc.csv", keep_default_na=False)["auc"][1] == ""
    assert mean_auc(labels, scores) == 1.0
    assert math.isnan(mean_auc(labels[:, 1:], scores[:, 1:]))


def test_roc_figure_is_written(tmp_path):
    rng = np.random.default_rng(1)
    labels = (rng.random((40, 3)) < 0.4).astype(float)
    scores = rng.random((40, 3))
    labels[:, 2] = 0  # no curve for this one
    path = plot_roc(labels, scores, ["A", "B", "C"], tmp_path / "roc.png")
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["roc.png"]


def test_nan_labels_are_left_out_of_the_auc():
    """An unknown label (NaN) removes that image from that class only: the AUC equals the
    AUC of the known images, and the counts skip it."""
    labels = np.array([[1, 0], [0, np.nan], [np.nan, 1], [0, 0], [1, 1]], dtype=float)
    scores = np.array([[0.9, 0.1], [0.2, 0.99], [0.01, 0.8], [0.4, 0.3], [0.3, 0.7]])
    aucs = per_class_auc(labels, scores)
    # class 0 on rows 0, 1, 3, 4: positives 0.9, 0.3 vs negatives 0.2, 0.4 -> 3 of 4 pairs
    assert aucs[0] == pytest.approx(0.75)
    # class 1 on rows 0, 2, 3, 4: positives 0.8, 0.7 vs negatives 0.1, 0.3 -> all pairs
    assert aucs[1] == pytest.approx(1.0)
    table = auc_table(labels, scores, ["A", "B"])
    assert table["n_pos"].tolist()[:2] == [2, 2] and table["n_neg"].tolist()[:2] == [2, 2]
