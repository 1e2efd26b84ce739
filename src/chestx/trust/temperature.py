"""Temperature scaling per finding (Guo et al., ICML 2017, §4.2), for sigmoid outputs.

Each finding ``c`` gets its own temperature ``T_c > 0``: the calibrated probability is
``sigmoid(z_c / T_c)`` of the logit ``z_c``. ``T_c`` minimizes the binary cross-entropy (NLL)
of the validation images' labels of that finding; a single positive scalar per finding keeps
the order of the images, so AUCs do not change. A finding whose validation images are all
positive or all negative has no information on its scale: ``T_c = 1`` (not fitted).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from chestx.metrics.calibration import known

#: Temperatures are searched in ``[exp(-LOG_T_LIMIT), exp(LOG_T_LIMIT)]``.
LOG_T_LIMIT = 5.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def binary_nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of 0/1 ``labels`` under ``sigmoid(logits)``, stably:
    ``mean(softplus(z) - y z)``."""
    z = np.asarray(logits, dtype=np.float64)
    y = (np.asarray(labels) > 0.5).astype(np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float | None:
    """The ``T > 0`` minimizing :func:`binary_nll` of ``(N,)`` ``logits / T``; ``None`` when
    the labels are all one value (nothing to fit). Unknown (``nan``) labels are left out."""
    z, y = known(logits, labels)
    y = y > 0.5
    if y.all() or not y.any():
        return None
    result = minimize_scalar(lambda log_t: binary_nll(z / np.exp(log_t), y),
                             bounds=(-LOG_T_LIMIT, LOG_T_LIMIT), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))


class TemperatureScaling:
    """One temperature per finding.

    Attributes (after :meth:`fit`): ``temperatures_`` ``(C,)``, ``fitted_`` bool ``(C,)``.
    """

    def fit(self, logits: np.ndarray, labels: np.ndarray) -> TemperatureScaling:
        """``(N, C)`` validation logits and 0/1 labels."""
        fitted = [fit_temperature(logits[:, c], labels[:, c]) for c in range(logits.shape[1])]
        self.fitted_ = np.array([t is not None for t in fitted])
        self.temperatures_ = np.array([1.0 if t is None else t for t in fitted])
        return self

    @classmethod
    def from_temperatures(cls, temperatures) -> TemperatureScaling:
        scaling = cls()
        scaling.temperatures_ = np.asarray(temperatures, dtype=np.float64)
        scaling.fitted_ = np.ones(len(scaling.temperatures_), dtype=bool)
        return scaling

    def transform(self, logits: np.ndarray) -> np.ndarray:
        """``(N, C)`` logits -> ``(N, C)`` calibrated probabilities."""
        return sigmoid(np.asarray(logits, dtype=np.float64) / self.temperatures_)
