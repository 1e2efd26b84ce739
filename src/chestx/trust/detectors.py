"""Out-of-distribution detectors: a score per image, higher = less like the training images.

- ``mahalanobis`` (Lee et al., NeurIPS 2018): the Mahalanobis distance of the image's pooled
  features (the ``D`` globally pooled transition activations that the prediction layer reads)
  from their mean over the training images, under the training images' covariance. Lee et al.
  fit one Gaussian per class with a shared covariance; the findings here are not exclusive
  classes (most images carry none or several), so one Gaussian is fitted to all training
  images. ``D`` (512 for ResNet-18) is near the number of training images of a small run, so
  the sample covariance is singular: it is shrunk towards ``trace / D`` times the identity
  with the Ledoit-Wolf coefficient (a closed form, no tuning).
- ``energy`` (Liu et al., NeurIPS 2020): ``-T log sum_c exp(z_c / T)`` of the logits ``z``,
  ``T = 1``; needs nothing but the logits, so nothing is fitted.

Each detector is a small object: ``fit(features, logits)``, ``score(features, logits)``,
``to_state()`` / ``from_state()`` (tensors and numbers, for the checkpoint). The threshold is
a quantile of the *validation* images' scores (:func:`quantile_threshold`): images the
statistics were not fitted on, as new images will be.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.covariance import ledoit_wolf_shrinkage

from chestx.registry import Registry

#: The quantile of the validation images' scores above which an image is flagged: about 1 in
#: 100 new images of the training distribution is flagged by design.
OOD_QUANTILE = 0.99

#: Detectors by name; the first is the default (chosen by the comparison in docs/trust.md).
DETECTORS: Registry[type] = Registry("out-of-distribution detector")


def quantile_threshold(scores: np.ndarray, quantile: float = OOD_QUANTILE) -> float:
    """The ``quantile`` of ``(N,)`` validation scores (numpy's linear interpolation)."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    if not len(scores):
        raise ValueError("no finite validation scores to set a threshold on")
    return float(np.quantile(scores, quantile))


@DETECTORS.register("mahalanobis")
class MahalanobisDetector:
    """Mahalanobis distance of pooled features ``(N, D)`` from the training mean.

    Attributes (after :meth:`fit`): ``mean_`` ``(D,)``, ``shrinkage_`` in [0, 1],
    ``covariance_`` ``(D, D)`` = ``(1 - a) S + a tr(S) / D I`` with ``S`` the maximum-
    likelihood covariance (divided by N), ``precision_`` its inverse.
    """

    needs_features = True

    def __init__(self, shrinkage: float | None = None) -> None:
        self.shrinkage = shrinkage

    def fit(self, features: np.ndarray, logits: np.ndarray | None = None
            ) -> MahalanobisDetector:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"need (N >= 2, D) features, got shape {x.shape}")
        self.mean_ = x.mean(axis=0)
        centred = x - self.mean_
        sample = centred.T @ centred / len(x)
        a = (ledoit_wolf_shrinkage(centred, assume_centered=True) if self.shrinkage is None
             else float(self.shrinkage))
        self.shrinkage_ = float(a)
        d = x.shape[1]
        self.covariance_ = (1 - a) * sample + a * np.trace(sample) / d * np.eye(d)
        self.precision_ = np.linalg.pinv(self.covariance_, hermitian=True)
        return self

    def score(self, features: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """``(N, D)`` -> ``(N,)`` distances ``sqrt((x - mean)^T precision (x - mean))``."""
        centred = np.asarray(features, dtype=np.float64) - self.mean_
        squared = np.einsum("nd,de,ne->n", centred, self.precision_, centred)
        return np.sqrt(np.maximum(squared, 0.0))

    def to_state(self) -> dict:
        return {"mean": torch.from_numpy(self.mean_.astype(np.float32)),
                "precision": torch.from_numpy(self.precision_.astype(np.float32)),
                "shrinkage": self.shrinkage_}

    @classmethod
    def from_state(cls, state: dict) -> MahalanobisDetector:
        detector = cls(state["shrinkage"])
        detector.shrinkage_ = float(state["shrinkage"])
        detector.mean_ = state["mean"].double().numpy()
        detector.precision_ = state["precision"].double().numpy()
        return detector


@DETECTORS.register("energy")
class EnergyDetector:
    """Energy of the logits ``(N, C)``: ``-T logsumexp(z / T)``; higher = less familiar."""

    needs_features = False

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = float(temperature)

    def fit(self, features: np.ndarray | None, logits: np.ndarray) -> EnergyDetector:
        return self

    def score(self, features: np.ndarray | None, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64) / self.temperature
        top = z.max(axis=1, keepdims=True)
        return -self.temperature * (top[:, 0] + np.log(np.exp(z - top).sum(axis=1)))

    def to_state(self) -> dict:
        return {"temperature": self.temperature}

    @classmethod
    def from_state(cls, state: dict) -> EnergyDetector:
        return cls(state["temperature"])


def build_detector(name: str, state: dict | None = None):
    """A new detector ``name`` of :data:`DETECTORS`, or one restored from its ``state``."""
    kind = DETECTORS.get(name)
    return kind() if state is None else kind.from_state(state)
