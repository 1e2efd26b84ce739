"""Temperature scaling lowers the NLL of a miscalibrated toy and finds its temperature."""

import numpy as np
import pytest

from chestx.trust.temperature import TemperatureScaling, binary_nll, fit_temperature, sigmoid


def _toy(n: int = 4000, scale: float = 4.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 2.0, size=n)
    labels = (rng.random(n) < sigmoid(true_logit)).astype(int)
    return true_logit * scale, labels  # an overconfident model: logits 4x too large


def test_nll_is_the_mean_binary_cross_entropy():
    z, y = np.array([2.0, -1.0, 0.0]), np.array([1, 0, 1])
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert binary_nll(z, y) == pytest.approx(expected)


def test_temperature_lowers_nll_and_recovers_the_scale():
    logits, labels = _toy()
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(4.0, rel=0.1)
    assert binary_nll(logits / t, labels) < binary_nll(logits, labels) - 0.05
    for other in (t * 0.8, t * 1.25):  # a minimum, not just an improvement
        assert binary_nll(logits / t, labels) <= binary_nll(logits / other, labels)


def test_per_finding_temperatures_and_unfittable_columns():
    a, ya = _toy(scale=4.0, seed=1)
    b, yb = _toy(scale=0.5, seed=2)
    logits = np.stack([a, b, a], axis=1)
    labels = np.stack([ya, yb, np.zeros_like(ya)], axis=1)
    scaling = TemperatureScaling().fit(logits, labels)
    assert scaling.temperatures_[0] == pytest.approx(4.0, rel=0.1)
    assert scaling.temperatures_[1] == pytest.approx(0.5, rel=0.1)
    assert scaling.temperatures_[2] == 1.0 and not scaling.fitted_[2]
    calibrated = scaling.transform(logits)
    assert np.allclose(calibrated[:, 0], sigmoid(a / scaling.temperatures_[0]))
    # one positive scalar per finding keeps the order of the images
    assert (np.argsort(calibrated[:, 1]) == np.argsort(b, kind="stable")).mean() > 0.99
