"""ECE (15 equal-width bins) and Brier score by hand."""

import numpy as np
import pytest

from chestx.metrics.calibration import (
    bin_index,
    brier_score,
    expected_calibration_error,
    reliability,
)


def test_bins_are_equal_width_and_the_last_is_closed():
    p = np.array([0.0, 1 / 15 - 1e-9, 1 / 15, 0.5, 14 / 15, 1.0])
    assert bin_index(p).tolist() == [0, 0, 1, 7, 14, 14]


def test_ece_by_hand():
    # bin 1 ([1/15, 2/15)): p 0.1, 0.1 with labels 0, 1 -> |0.5 - 0.1| = 0.4, weight 2/5
    # bin 13 ([13/15, 14/15)): p 0.9, 0.9, 0.9 with labels 1, 1, 0 -> |2/3 - 0.9|, weight 3/5
    p = np.array([0.1, 0.1, 0.9, 0.9, 0.9])
    y = np.array([0, 1, 1, 1, 0])
    expected = 2 / 5 * 0.4 + 3 / 5 * abs(2 / 3 - 0.9)
    assert expected_calibration_error(p, y) == pytest.approx(expected)
    count, confidence, frequency = reliability(p, y)
    assert count[1] == 2 and count[13] == 3 and count.sum() == 5
    assert confidence[13] == pytest.approx(0.9) and frequency[1] == pytest.approx(0.5)


def test_perfect_calibration_and_brier():
    p = np.array([0.0, 0.0, 1.0, 1.0])
    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(p, y) == 0.0
    assert brier_score(p, y) == 0.0
    assert brier_score(np.array([0.2, 0.7]), np.array([0, 1])) == pytest.approx(
        (0.04 + 0.09) / 2)
