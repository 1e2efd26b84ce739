"""Fitting a :class:`~chestx.trust.state.TrustState` from a model's outputs on a dataset split.

Everything tuned here is tuned on held-out images: the detector's statistics on the training
images, its threshold on the validation images (:data:`~chestx.trust.detectors.OOD_QUANTILE`
of their scores), the temperatures and operating points on the validation predictions. The
test images only get scored (for the model card), never used to choose anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chestx.metrics.calibration import brier_score, expected_calibration_error
from chestx.metrics.classification import per_class_auc
from chestx.trust.detectors import (
    DEFAULT_DETECTOR,
    DETECTORS,
    OOD_QUANTILE,
    build_detector,
    quantile_threshold,
)
from chestx.trust.operating import DEFAULT_OPERATING_POINT, OperatingPoint, sensitivity_specificity
from chestx.trust.state import TrustState
from chestx.trust.temperature import TemperatureScaling, sigmoid


@dataclass
class Outputs:
    """A model's outputs on one split: ``features (N, F)`` (blocks of widths ``layout``, see
    :mod:`chestx.trust.features`), ``logits (N, C)``, ``labels (N, C)`` 0/1 and the
    ``image_ids`` (N)."""

    features: np.ndarray
    logits: np.ndarray
    labels: np.ndarray
    image_ids: Sequence[str] = ()
    layout: tuple[int, ...] = ()


def fit_trust(classes: Sequence[str], train: Outputs, val: Outputs, test: Outputs | None = None,
              detector: str | None = None, quantile: float = OOD_QUANTILE,
              operating_point: str = DEFAULT_OPERATING_POINT, data: dict | None = None
              ) -> TrustState:
    """Fit every part of the trust record (see the module docstring); ``detector`` defaults
    to :data:`~chestx.trust.detectors.DEFAULT_DETECTOR`."""
    name = detector or DEFAULT_DETECTOR
    fitted = build_detector(name).fit(train.features, train.logits, train.layout)
    val_scores = fitted.score(val.features, val.logits)
    scaling = TemperatureScaling().fit(val.logits, val.labels)
    point = OperatingPoint.parse(operating_point)
    thresholds, _ = point.thresholds(scaling.transform(val.logits), val.labels)
    state = TrustState(tuple(classes), name, fitted.to_state(),
                       quantile_threshold(val_scores, quantile), quantile,
                       scaling.temperatures_, str(point), thresholds, val.logits, val.labels,
                       dict(data or {}))
    state.metrics = {"validation": split_metrics(state, val)}
    if test is not None and len(test.logits):
        state.metrics["test"] = split_metrics(state, test)
    state.metrics["detectors"] = compare_detectors(train, val, quantile)
    return state


def split_metrics(state: TrustState, outputs: Outputs) -> dict:
    """Per finding on one split: ``auc``, ``ece_before``, ``ece_after``, ``brier`` (after),
    ``temperature``, ``threshold``, ``sensitivity`` and ``specificity`` at it, ``n_pos``,
    ``n_neg``; plus ``images`` and the share of them flagged out of distribution
    (``flagged``)."""
    before = sigmoid(outputs.logits)
    after = state.calibrate(outputs.logits)
    labels = np.asarray(outputs.labels) > 0.5
    aucs = per_class_auc(labels, after)
    rows = {}
    for c, name in enumerate(state.classes):
        sensitivity, specificity = sensitivity_specificity(after[:, c], labels[:, c],
                                                           state.thresholds[c])
        rows[name] = {
            "auc": float(aucs[c]),
            "ece_before": expected_calibration_error(before[:, c], labels[:, c]),
            "ece_after": expected_calibration_error(after[:, c], labels[:, c]),
            "brier": brier_score(after[:, c], labels[:, c]),
            "temperature": float(state.temperatures[c]),
            "threshold": float(state.thresholds[c]),
            "sensitivity": sensitivity, "specificity": specificity,
            "n_pos": int(labels[:, c].sum()), "n_neg": int((~labels[:, c]).sum()),
        }
    scores = state.ood_scores(outputs.features, outputs.logits)
    return {"images": len(labels), "flagged": float(np.mean(scores > state.ood_threshold)),
            "findings": rows}


def compare_detectors(train: Outputs, val: Outputs, quantile: float = OOD_QUANTILE,
                      foreign: dict[str, Outputs] | None = None) -> dict:
    """Every registered detector fitted on ``train``, thresholded at ``quantile`` of ``val``:
    ``{name: {"threshold": t, "<set>": share of that set's images flagged}}`` for the
    validation images and each ``foreign`` set."""
    table = {}
    for name in DETECTORS.names():
        detector = build_detector(name).fit(train.features, train.logits, train.layout)
        val_scores = detector.score(val.features, val.logits)
        threshold = quantile_threshold(val_scores, quantile)
        row = {"threshold": threshold, "validation": float(np.mean(val_scores > threshold))}
        for label, outputs in (foreign or {}).items():
            row[label] = float(np.mean(detector.score(outputs.features, outputs.logits)
                                       > threshold))
        table[name] = row
    return table
