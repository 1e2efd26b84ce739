"""What a checkpoint keeps for trust at the point of use, under its ``"trust"`` key, and how a
model's raw outputs become calibrated, thresholded and flagged answers.

:class:`TrustState` holds the out-of-distribution detector's statistics and threshold, the
per-finding temperatures and operating-point thresholds, the validation logits and labels
they were fitted on (so that any other operating point can be chosen later), what the model
was trained on, and the per-finding validation and test metrics for the model card.
Checkpoints from before have no ``"trust"``: :func:`trust_of` says so, once per file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

from chestx.trust.detectors import build_detector
from chestx.trust.operating import OperatingPoint
from chestx.trust.temperature import TemperatureScaling

#: The checkpoint key, and the version of the dict under it.
TRUST_KEY = "trust"
TRUST_VERSION = 1

_warned: set[str] = set()


@dataclass
class Verdict:
    """The trust answers for ``N`` images: calibrated probabilities ``(N, C)``, thresholds
    ``(C,)`` and where they come from, ``ood_score`` ``(N,)``, ``out_of_distribution`` bool
    ``(N,)`` (score above threshold or an input check failed) and the reasons ``(N,)``."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    threshold_source: str
    ood_score: np.ndarray
    out_of_distribution: np.ndarray
    reasons: list[list[str]] = field(default_factory=list)


@dataclass
class TrustState:
    """The trust record of one checkpoint (see the module docstring).

    ``classes`` (C names), ``detector`` (its name) and ``detector_state``, ``ood_threshold``
    at ``ood_quantile`` of the validation scores, ``temperatures`` ``(C,)``,
    ``operating_point`` (text, e.g. ``youden``) and its ``thresholds`` ``(C,)``,
    ``val_logits`` ``(N, C)`` and ``val_labels`` ``(N, C)``, ``data`` (dataset, split,
    counts), ``metrics`` (``{"validation": {...}, "test": {...}}`` per finding, see
    :func:`chestx.trust.fit.split_metrics`), ``comparison`` (the detectors measured side by
    side on the validation images, for the card).
    """

    classes: tuple[str, ...]
    detector: str
    detector_state: dict
    ood_threshold: float
    ood_quantile: float
    temperatures: np.ndarray
    operating_point: str
    thresholds: np.ndarray
    val_logits: np.ndarray
    val_labels: np.ndarray
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._detector = build_detector(self.detector, self.detector_state)
        self._scaling = TemperatureScaling.from_temperatures(self.temperatures)

    @property
    def needs_features(self) -> bool:
        return bool(self._detector.needs_features)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """``(N, C)`` logits -> calibrated probabilities ``(N, C)``."""
        return self._scaling.transform(logits)

    def ood_scores(self, features: np.ndarray | None, logits: np.ndarray) -> np.ndarray:
        """``(N, D)`` features and ``(N, C)`` logits -> ``(N,)`` scores of the detector."""
        return self._detector.score(features, logits)

    def thresholds_for(self, operating_point: str | None = None) -> np.ndarray:
        """Per-finding thresholds of ``operating_point`` (default: the stored one), chosen on
        the stored validation predictions."""
        if operating_point is None or str(OperatingPoint.parse(operating_point)) == \
                self.operating_point:
            return self.thresholds
        return OperatingPoint.parse(operating_point).thresholds(
            self.calibrate(self.val_logits), self.val_labels)[0]

    def choose_thresholds(self, threshold: float | None = None,
                          operating_point: str | None = None) -> tuple[np.ndarray, str]:
        """``(thresholds (C,), where they come from)``: ``threshold`` for every finding when
        given, else the per-finding ones of ``operating_point`` (default: the stored one)."""
        if threshold is not None:
            return np.full(len(self.classes), float(threshold)), f"--threshold {threshold:g}"
        point = str(OperatingPoint.parse(operating_point)) if operating_point \
            else self.operating_point
        return self.thresholds_for(point), f"operating point {point} (per finding)"

    def verdict(self, logits: np.ndarray, features: np.ndarray | None,
                reasons: list[list[str]] | None = None, threshold: float | None = None,
                operating_point: str | None = None) -> Verdict:
        """Calibrate, threshold and flag ``N`` images; ``threshold`` (one for every finding)
        overrides the operating point; ``reasons``: the input checks' per image."""
        scores = self.ood_scores(features, logits)
        reasons = reasons or [[] for _ in range(len(scores))]
        thresholds, source = self.choose_thresholds(threshold, operating_point)
        flagged = (scores > self.ood_threshold) | np.array([bool(r) for r in reasons])
        return Verdict(self.calibrate(logits), thresholds, source, scores, flagged, reasons)

    # ------------------------------------------------------------------ checkpoint dict
    def to_dict(self) -> dict:
        """Tensors, numbers, strings and lists only: loads with ``weights_only=True``."""
        return {
            "version": TRUST_VERSION, "classes": list(self.classes),
            "detector": self.detector, "detector_state": self.detector_state,
            "ood_threshold": float(self.ood_threshold), "ood_quantile": float(self.ood_quantile),
            "temperatures": [float(t) for t in self.temperatures],
            "operating_point": self.operating_point,
            "thresholds": [float(t) for t in self.thresholds],
            "val_logits": torch.from_numpy(np.asarray(self.val_logits, dtype=np.float32)),
            "val_labels": torch.from_numpy(np.asarray(self.val_labels, dtype=np.uint8)),
            "data": self.data, "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, state: dict) -> TrustState:
        return cls(tuple(state["classes"]), state["detector"], state["detector_state"],
                   float(state["ood_threshold"]), float(state["ood_quantile"]),
                   np.asarray(state["temperatures"], dtype=np.float64),
                   state["operating_point"], np.asarray(state["thresholds"], dtype=np.float64),
                   state["val_logits"].double().numpy(), state["val_labels"].numpy(),
                   dict(state.get("data") or {}), dict(state.get("metrics") or {}))


def trust_of(state: dict, path: str | os.PathLike = "checkpoint", quiet: bool = False
             ) -> TrustState | None:
    """The :class:`TrustState` of a checkpoint dict, or ``None`` with one line on stderr
    (once per file and process) saying what the checkpoint lacks and how to add it."""
    record = state.get(TRUST_KEY)
    if record:
        return TrustState.from_dict(record)
    if not quiet and str(path) not in _warned:
        _warned.add(str(path))
        print(f"note: {path} has no out-of-distribution statistics, temperatures or operating "
              "points (written before chestx had them): probabilities are uncalibrated, "
              "nothing is flagged; add them with `chestx calibrate --checkpoint "
              f"{path} --data DATASET`", file=sys.stderr)
    return None
