"""Predictions with trust: calibrated probabilities, per-finding thresholds and an
out-of-distribution score and flag (see :mod:`chestx.trust`).

:class:`TrustedPrediction` is a :class:`~chestx.inference.forward.Prediction` that also says
where its thresholds come from and whether the image is unlike the training images (and
why). :func:`trusted_predictions` runs the batched forward with the pooled features and
logits caught on the way (one pass) and turns its predictions into trusted ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from chestx.findings import DEFAULT_THRESHOLD
from chestx.inference.forward import Prediction
from chestx.trust.checks import check_image, chroma
from chestx.trust.features import capture
from chestx.trust.state import TrustState

#: The columns ``predictions.csv`` adds after the probabilities.
TRUST_COLUMNS = ("ood_score", "out_of_distribution", "ood_reason")


@dataclass(frozen=True)
class TrustedPrediction(Prediction):
    """A :class:`Prediction` with ``thresholds`` ``(C,)`` (per finding; the scalar
    ``threshold`` is the ``--threshold`` given, ``nan`` otherwise), ``threshold_source``
    (``"operating point youden"``, ``"--threshold 0.5"``, ...), ``calibrated`` (temperature
    scaled probabilities), ``ood_score`` (``nan`` without statistics), ``out_of_distribution``
    and ``ood_reasons`` (the failed input checks and/or the score above its threshold)."""

    thresholds: np.ndarray | None = None
    threshold_source: str = ""
    calibrated: bool = False
    ood_score: float = math.nan
    out_of_distribution: bool = False
    ood_reasons: tuple[str, ...] = ()

    def _thresholds(self) -> np.ndarray:
        return (self.thresholds if self.thresholds is not None
                else np.full(len(self.classes), self.threshold))

    @property
    def positives(self) -> list[str]:
        order = np.argsort(-self.probabilities, kind="stable")
        limits = self._thresholds()
        return [self.classes[i] for i in order if self.probabilities[i] >= limits[i]]

    def to_dict(self) -> dict:
        body = super().to_dict()
        limits = self._thresholds()
        for i, finding in enumerate(body["findings"]):
            finding.update(threshold=float(limits[i]),
                           positive=bool(self.probabilities[i] >= limits[i]))
        body.update(
            threshold=None if math.isnan(self.threshold) else self.threshold,
            thresholds={n: float(t) for n, t in zip(self.classes, limits, strict=True)},
            threshold_source=self.threshold_source, calibrated=self.calibrated,
            ood_score=None if math.isnan(self.ood_score) else round(self.ood_score, 4),
            out_of_distribution=bool(self.out_of_distribution),
            ood_reasons=list(self.ood_reasons))
        return body

    def csv_cells(self) -> list[str]:
        """The :data:`TRUST_COLUMNS` cells of this image's ``predictions.csv`` row."""
        score = "" if math.isnan(self.ood_score) else f"{self.ood_score:.4f}"
        return [score, str(int(self.out_of_distribution)), "; ".join(self.ood_reasons)]


def box_floor(state: TrustState | None, thresholds: np.ndarray) -> float:
    """The lowest *uncalibrated* probability whose calibrated value reaches its finding's
    threshold: ``sigmoid(T_c logit(t_c))`` minimized over ``c``. Boxing every finding at or
    above it boxes every positive (the others' boxes are dropped after calibration)."""
    if state is None:
        return float(np.min(thresholds))
    t = np.clip(thresholds, 1e-7, 1 - 1e-7)
    return float(np.min(1 / (1 + np.exp(-state.temperatures * np.log(t / (1 - t))))))


def trusted_predictions(run: Callable[[float], list[Prediction]], model: torch.nn.Module,
                        state: TrustState | None, grays: Sequence[np.ndarray],
                        sources: Sequence[str], threshold: float | None = None,
                        operating_point: str | None = None, boxed_all: bool = False,
                        colours: Sequence[float] | None = None) -> list[TrustedPrediction]:
    """Run ``run(floor)`` (the batched forward of ``grays``, boxing findings at or above the
    uncalibrated probability ``floor``) with ``model``'s features caught, then calibrate,
    threshold and flag each image. Without ``state`` (an old checkpoint): the raw
    probabilities at ``threshold`` (default 0.5) and the input checks only. ``boxed_all``:
    ``run`` boxes every finding (the viewer), so no box is dropped. ``colours``: each image's
    :func:`~chestx.trust.checks.chroma` (default: read from its ``sources`` file)."""
    colours = colours if colours is not None else [chroma(source) for source in sources]
    reasons = [check_image(gray, colour) for gray, colour in zip(grays, colours, strict=True)]
    if state is None:
        given = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        thresholds = np.full(len(model.config.classes), given)
        predictions = run(given)
        return [_trusted(p, thresholds, p.probabilities, f"--threshold {given:g}"
                         if threshold is not None else f"default {given:g} (no operating "
                         "points in this checkpoint)", False, math.nan, bool(r), r,
                         given, boxed_all)
                for p, r in zip(predictions, reasons, strict=True)]
    limits, _ = state.choose_thresholds(threshold, operating_point)
    with capture(model) as caught:
        predictions = run(box_floor(state, limits))
    features, logits = caught.arrays()
    if len(logits) != len(predictions):
        raise RuntimeError(f"caught {len(logits)} forward outputs for {len(predictions)} images")
    verdict = state.verdict(logits, features, reasons, threshold, operating_point)
    out = []
    for n, p in enumerate(predictions):
        why = list(reasons[n])
        if verdict.ood_score[n] > state.ood_threshold:
            why.append(f"{state.detector} score {verdict.ood_score[n]:.1f} above "
                       f"{state.ood_threshold:.1f}")
        out.append(_trusted(p, verdict.thresholds, verdict.probabilities[n].astype(np.float32),
                            verdict.threshold_source, True, float(verdict.ood_score[n]),
                            bool(verdict.out_of_distribution[n]), why,
                            math.nan if threshold is None else float(threshold), boxed_all))
    return out


def _trusted(p: Prediction, thresholds: np.ndarray, probabilities: np.ndarray, source: str,
             calibrated: bool, score: float, flagged: bool, reasons: Sequence[str],
             threshold: float | None = None, boxed_all: bool = False) -> TrustedPrediction:
    """``p`` with the trust fields; boxes of findings below their threshold dropped."""
    base = {f.name: getattr(p, f.name) for f in dataclasses.fields(Prediction)}
    base.update(probabilities=probabilities,
                threshold=p.threshold if threshold is None else threshold)
    positive = {c for c, pr, t in zip(p.classes, probabilities, thresholds, strict=True)
                if pr >= t}
    if not boxed_all:  # boxes were made for the candidates only: keep the positives'
        base["boxes"] = tuple(b for b in p.boxes if b.finding in positive)
    return TrustedPrediction(**base, thresholds=np.asarray(thresholds, dtype=np.float64),
                             threshold_source=source, calibrated=calibrated, ood_score=score,
                             out_of_distribution=flagged, ood_reasons=tuple(reasons))
