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

- ``mahalanobis-layers`` (Lee et al.'s feature ensemble, unweighted): the same distance on
  the channel means of each middle stage of the backbone (output strides 4, 8, 16: a ResNet's
  layer1..layer3; see :mod:`chestx.trust.features`), each divided by its mean over the
  training images, averaged over the stages. Lee et al. weight the layers by a regression
  fitted on out-of-distribution examples; there are none to fit on here, so every stage
  counts alike. The middle stages see texture and local structure, which is where phantoms,
  real radiographs, noise and drawings differ; the pooled features (the last block) are
  dominated by the findings the model learned, and the largest ratio over all stages is
  dominated by the noisiest one (docs/trust.md has the measurements behind the choice).

Each detector is a small object: ``fit(features, logits, layout)``, ``score(features,
logits)``, ``to_state()`` / ``from_state()`` (tensors and numbers, for the checkpoint);
``layout`` gives the widths of the feature blocks, the pooled features last (``None``: all
of ``features`` is the pooled features). The threshold is
a quantile of the *validation* images' scores (:func:`quantile_threshold`): images the
statistics were not fitted on, as new images will be.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.covariance import ledoit_wolf_shrinkage

from chestx.registry import Registry
from chestx.trust.trust_config import OOD_QUANTILE  # 1 in 100 training-like images flagged

#: Detectors by name.
DETECTORS: Registry[type] = Registry("out-of-distribution detector")

#: The detector ``chestx train`` / ``chestx calibrate`` fit (chosen by the comparison of
#: docs/trust.md: the share of foreign images flagged against new training-like images).
DEFAULT_DETECTOR = "mahalanobis-layers"


def blocks(features: np.ndarray, layout) -> list[np.ndarray]:
    """Split ``(N, F)`` features into their blocks of widths ``layout`` (``None``: one)."""
    features = np.asarray(features, dtype=np.float64)
    if not layout:
        return [features]
    edges = np.cumsum([0, *layout])
    if edges[-1] != features.shape[1]:
        raise ValueError(f"features of width {features.shape[1]} do not fit layout {layout}")
    return [features[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


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

    def fit(self, features: np.ndarray, logits: np.ndarray | None = None, layout=None
            ) -> MahalanobisDetector:
        """Fit on the pooled features: the last block of ``layout``."""
        x = blocks(features, layout)[-1]
        self.layout_ = tuple(layout or ())
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
        centred = blocks(features, getattr(self, "layout_", None))[-1] - self.mean_
        squared = np.einsum("nd,de,ne->n", centred, self.precision_, centred)
        return np.sqrt(np.maximum(squared, 0.0))

    def to_state(self) -> dict:
        return {"mean": torch.from_numpy(self.mean_.astype(np.float32)),
                "precision": torch.from_numpy(self.precision_.astype(np.float32)),
                "shrinkage": self.shrinkage_, "layout": list(self.layout_)}

    @classmethod
    def from_state(cls, state: dict) -> MahalanobisDetector:
        detector = cls(state["shrinkage"])
        detector.shrinkage_ = float(state["shrinkage"])
        detector.mean_ = state["mean"].double().numpy()
        detector.precision_ = state["precision"].double().numpy()
        detector.layout_ = tuple(state.get("layout") or ())
        return detector


@DETECTORS.register("mahalanobis-layers")
class LayerMahalanobisDetector:
    """The mean of ``d_b(x) / mean_train(d_b)`` over the stage blocks ``b``: every block of
    ``layout`` but the last (the pooled features), or that one when it is the only block (see
    the module docstring). Attributes: ``detectors_`` (one :class:`MahalanobisDetector` per
    block used), ``scales_`` ``(B,)`` the mean training distances, ``layout_``."""

    needs_features = True

    def fit(self, features: np.ndarray, logits: np.ndarray | None = None, layout=None
            ) -> LayerMahalanobisDetector:
        self.layout_ = tuple(layout or (np.shape(features)[1],))
        parts = self._stages(features)
        self.detectors_ = [MahalanobisDetector().fit(part) for part in parts]
        self.scales_ = np.array([max(d.score(part).mean(), 1e-12)
                                 for d, part in zip(self.detectors_, parts, strict=True)])
        return self

    def block_scores(self, features: np.ndarray) -> np.ndarray:
        """``(N, F)`` -> ``(N, B)`` distances of each block over its training mean."""
        parts = self._stages(features)
        return np.stack([d.score(part) for d, part in zip(self.detectors_, parts, strict=True)],
                        axis=1) / self.scales_

    def score(self, features: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        return self.block_scores(features).mean(axis=1)

    def _stages(self, features: np.ndarray) -> list[np.ndarray]:
        parts = blocks(features, self.layout_)
        return parts[:-1] if len(parts) > 1 else parts

    def to_state(self) -> dict:
        return {"layout": list(self.layout_), "scales": [float(s) for s in self.scales_],
                "blocks": [d.to_state() for d in self.detectors_]}

    @classmethod
    def from_state(cls, state: dict) -> LayerMahalanobisDetector:
        detector = cls()
        detector.layout_ = tuple(state["layout"])
        detector.scales_ = np.asarray(state["scales"], dtype=np.float64)
        detector.detectors_ = [MahalanobisDetector.from_state(b) for b in state["blocks"]]
        return detector


@DETECTORS.register("energy")
class EnergyDetector:
    """Energy of the logits ``(N, C)``: ``-T logsumexp(z / T)``; higher = less familiar."""

    needs_features = False

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = float(temperature)

    def fit(self, features: np.ndarray | None, logits: np.ndarray, layout=None
            ) -> EnergyDetector:
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
