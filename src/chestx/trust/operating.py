"""Operating points: the probability at or above which each finding is called positive,
chosen on the validation images (never on the images it is scored on).

- ``youden`` (default): the threshold maximizing Youden's J = sensitivity + specificity - 1;
- ``sensitivity=0.95``: the highest threshold whose sensitivity is at least 0.95;
- ``specificity=0.95``: the lowest threshold whose specificity is at least 0.95 (the most
  sensitive one that keeps that specificity).

Thresholds are values of the scores themselves (``score >= t`` is positive), as in
:func:`sklearn.metrics.roc_curve`. A finding whose validation images are all positive or all
negative keeps :data:`chestx.findings.DEFAULT_THRESHOLD`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_curve

from chestx.errors import ChestxError
from chestx.findings import DEFAULT_THRESHOLD
from chestx.metrics.calibration import known
from chestx.trust.trust_config import DEFAULT_OPERATING_POINT


@dataclass(frozen=True)
class OperatingPoint:
    """``kind``: ``youden | sensitivity | specificity``; ``target`` for the last two."""

    kind: str = DEFAULT_OPERATING_POINT
    target: float | None = None

    @classmethod
    def parse(cls, text: str) -> OperatingPoint:
        """``youden``, ``sensitivity=0.95`` or ``specificity=0.95``."""
        text = text.strip().lower()
        if text == "youden":
            return cls()
        kind, _, value = text.partition("=")
        try:
            target = float(value)
        except ValueError:
            target = -1.0
        if kind not in ("sensitivity", "specificity") or not 0.0 < target <= 1.0:
            raise ChestxError(f"--operating-point {text!r}: use youden, sensitivity=0.95 or "
                              "specificity=0.95 (a value in (0, 1])")
        return cls(kind, target)

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}={self.target:g}"

    def threshold(self, scores: np.ndarray, labels: np.ndarray) -> float | None:
        """The threshold of one finding from ``(N,)`` scores and 0/1 labels (``None`` when the
        labels are all one value). Unknown (``nan``) labels are left out."""
        scores, y = known(scores, labels)
        y = y > 0.5
        if y.all() or not y.any():
            return None
        fpr, tpr, thresholds = roc_curve(y, scores, drop_intermediate=False)
        thresholds = np.minimum(thresholds, 1.0)  # roc_curve's first is +inf: "none positive"
        if self.kind == "youden":
            return float(thresholds[int(np.argmax(tpr - fpr))])
        if self.kind == "sensitivity":  # tpr rises as the threshold falls: the first that meets
            return float(thresholds[int(np.argmax(tpr >= self.target - 1e-12))])
        keeps = np.nonzero(1.0 - fpr >= self.target - 1e-12)[0]
        return float(thresholds[keeps[-1]])

    def thresholds(self, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, C)`` -> ``(thresholds (C,), chosen (C,) bool)``; unchosen ones are the
        default threshold."""
        found = [self.threshold(scores[:, c], labels[:, c]) for c in range(scores.shape[1])]
        return (np.array([DEFAULT_THRESHOLD if t is None else t for t in found]),
                np.array([t is not None for t in found]))


def sensitivity_specificity(scores: np.ndarray, labels: np.ndarray, threshold: float
                            ) -> tuple[float, float]:
    """Sensitivity and specificity of ``scores >= threshold`` against 0/1 ``labels`` (unknown,
    ``nan``, labels left out)."""
    scores, y = known(scores, labels)
    y = y > 0.5
    positive = scores >= threshold
    sensitivity = float(positive[y].mean()) if y.any() else float("nan")
    specificity = float((~positive[~y]).mean()) if (~y).any() else float("nan")
    return sensitivity, specificity
