"""Unknown labels (``nan``: uncertain under the ``ignore`` policy) are left out of the
calibration measures, the temperatures and the operating points, as they are of the AUC."""

from __future__ import annotations

import numpy as np

from chestx.metrics.calibration import brier_score, expected_calibration_error
from chestx.trust.operating import OperatingPoint, sensitivity_specificity
from chestx.trust.temperature import fit_temperature


def _with_unknowns():
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0, np.nan, np.nan])
    return p, y


def test_ece_and_brier_skip_unknown_labels():
    p, y = _with_unknowns()
    # the five known images by hand: bins of 1/15; each known image sits in its own bin
    expected = (0.1 + 0.4 + (1 - 0.35) + (1 - 0.8) + (1 - 0.9)) / 5
    assert np.isclose(expected_calibration_error(p, y), expected)
    assert np.isclose(brier_score(p, y), np.mean((p[:5] - y[:5]) ** 2))


def test_temperature_and_operating_point_skip_unknown_labels():
    p, y = _with_unknowns()
    logits = np.log(p / (1 - p))
    assert fit_temperature(logits, y) == fit_temperature(logits[:5], y[:5])
    youden = OperatingPoint.parse("youden")
    # by hand on the known five: at 0.8 J = 2/3 - 0; at 0.35 J = 1 - 1/2; at 0.9 J = 1/3
    assert youden.threshold(p, y) == youden.threshold(p[:5], y[:5]) == 0.8
    assert sensitivity_specificity(p, y, 0.35) == (1.0, 0.5)
