"""Out-of-distribution detectors against numpy / scipy, thresholds at the stated quantile."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.covariance import LedoitWolf

from chestx.trust.detectors import (
    DETECTORS,
    OOD_QUANTILE,
    EnergyDetector,
    MahalanobisDetector,
    build_detector,
    quantile_threshold,
)


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(5, 5))
    return rng.normal(size=(200, 5)) @ mixing + np.arange(5), rng.normal(size=(7, 5)) * 3


def test_mahalanobis_statistics_match_numpy(toy):
    train, test = toy
    detector = MahalanobisDetector(shrinkage=0.0).fit(train)
    assert np.allclose(detector.mean_, train.mean(axis=0))
    assert np.allclose(detector.covariance_, np.cov(train, rowvar=False, bias=True))
    centred = test - train.mean(axis=0)
    inverse = np.linalg.inv(np.cov(train, rowvar=False, bias=True))
    expected = np.sqrt([c @ inverse @ c for c in centred])
    assert np.allclose(detector.score(test), expected)


def test_mahalanobis_shrinkage_is_ledoit_wolf(toy):
    train, test = toy
    detector = MahalanobisDetector().fit(train)
    reference = LedoitWolf().fit(train)
    assert detector.shrinkage_ == pytest.approx(reference.shrinkage_)
    assert np.allclose(detector.covariance_, reference.covariance_)
    centred = test - train.mean(axis=0)
    expected = np.sqrt(np.einsum("nd,de,ne->n", centred, np.linalg.inv(reference.covariance_),
                                 centred))
    assert np.allclose(detector.score(test), expected)


def test_mahalanobis_survives_more_dimensions_than_images():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(20, 64))
    detector = MahalanobisDetector().fit(train)
    scores = detector.score(rng.normal(size=(5, 64)) * 5)
    assert np.isfinite(scores).all() and (scores > detector.score(train).max()).all()


def test_energy_is_negative_logsumexp():
    logits = np.array([[1.0, -2.0, 0.5], [10.0, 9.0, -3.0], [-40.0, -50.0, -45.0]])
    assert np.allclose(EnergyDetector().score(None, logits), -logsumexp(logits, axis=1))
    assert np.allclose(EnergyDetector(2.0).score(None, logits),
                       -2.0 * logsumexp(logits / 2.0, axis=1))


def test_threshold_at_the_stated_quantile():
    scores = np.random.default_rng(2).gamma(2.0, size=101)
    assert quantile_threshold(scores) == pytest.approx(np.quantile(scores, OOD_QUANTILE))
    assert OOD_QUANTILE == 0.99
    # 101 scores: the 0.99 quantile lies between the 100th and the 101st order statistics
    ordered = np.sort(scores)
    assert ordered[99] <= quantile_threshold(scores) <= ordered[100]
    assert quantile_threshold(scores, 0.5) == pytest.approx(np.median(scores))
    assert quantile_threshold(np.array([1.0, np.nan, 3.0]), 1.0) == 3.0


def test_state_round_trip(toy):
    train, test = toy
    for name in DETECTORS:
        fitted = build_detector(name).fit(train, train[:, :3])
        again = build_detector(name, fitted.to_state())
        assert np.allclose(again.score(test, test[:, :3]), fitted.score(test, test[:, :3]),
                           rtol=1e-5)


def test_layered_detector_is_the_mean_stage_ratio(toy):
    train, test = toy
    rng = np.random.default_rng(3)
    low, mid = rng.normal(size=(200, 3)), rng.normal(size=(200, 2)) * 4
    features = np.concatenate([low, mid, train], axis=1)
    shifted = np.concatenate([rng.normal(size=(7, 3)) + 6, rng.normal(size=(7, 2)), test],
                             axis=1)
    layered = build_detector("mahalanobis-layers").fit(features, None, (3, 2, 5))
    first, second = MahalanobisDetector().fit(low), MahalanobisDetector().fit(mid)
    expected = (first.score(shifted[:, :3]) / first.score(low).mean()
                + second.score(shifted[:, 3:5]) / second.score(mid).mean()) / 2
    assert np.allclose(layered.score(shifted), expected)  # the pooled block is left out
    # the plain detector reads the last block (the pooled features) only
    plain = MahalanobisDetector().fit(features, None, (3, 2, 5))
    assert np.allclose(plain.score(shifted), MahalanobisDetector().fit(train).score(test))
    again = build_detector("mahalanobis-layers", layered.to_state())
    assert np.allclose(again.score(shifted), layered.score(shifted), rtol=1e-5)
