"""Operating points: Youden's J and the sensitivity / specificity targets, by hand."""

import numpy as np
import pytest

from chestx.errors import ChestxError
from chestx.trust.operating import OperatingPoint, sensitivity_specificity

SCORES = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
LABELS = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1])


def test_youden_by_hand():
    # 5 positives, 5 negatives; "score >= t" for each candidate t:
    # t=0.6: TP 4 (0.6 0.7 0.9 0.95), FP 1 (0.8) -> J = 0.8 - 0.2 = 0.6
    # t=0.3: TP 5, FP 3 (0.4 0.5 0.8) -> J = 1 - 0.6 = 0.4;  t=0.9: TP 2, FP 0 -> 0.4
    # t=0.7: TP 3, FP 1 -> 0.4; t=0.5: TP 4, FP 2 -> 0.4. The maximum is t = 0.6.
    assert OperatingPoint.parse("youden").threshold(SCORES, LABELS) == pytest.approx(0.6)
    sens, spec = sensitivity_specificity(SCORES, LABELS, 0.6)
    assert (sens, spec) == (pytest.approx(0.8), pytest.approx(0.8))


def test_sensitivity_and_specificity_targets_by_hand():
    # sensitivity >= 0.95 means all 5 positives: the highest such threshold is 0.3
    assert OperatingPoint.parse("sensitivity=0.95").threshold(SCORES, LABELS) == \
        pytest.approx(0.3)
    # sensitivity >= 0.6 (3 of 5): highest threshold is 0.7
    assert OperatingPoint.parse("sensitivity=0.6").threshold(SCORES, LABELS) == \
        pytest.approx(0.7)
    # specificity >= 0.95 means no false positive: the lowest such threshold is 0.9
    assert OperatingPoint.parse("specificity=0.95").threshold(SCORES, LABELS) == \
        pytest.approx(0.9)
    # specificity >= 0.8 (at most 1 FP of 5): lowest threshold 0.6
    assert OperatingPoint.parse("specificity=0.8").threshold(SCORES, LABELS) == \
        pytest.approx(0.6)


def test_columns_without_both_outcomes_keep_the_default():
    scores = np.stack([SCORES, SCORES], axis=1)
    labels = np.stack([LABELS, np.zeros(10)], axis=1)
    thresholds, chosen = OperatingPoint().thresholds(scores, labels)
    assert thresholds.tolist() == pytest.approx([0.6, 0.5]) and chosen.tolist() == [True, False]


@pytest.mark.parametrize("text", ["sensitivity", "specificity=2", "recall=0.9", "youdn"])
def test_bad_operating_points_say_what_is_accepted(text):
    with pytest.raises(ChestxError, match="youden, sensitivity=0.95"):
        OperatingPoint.parse(text)


def test_text_round_trip():
    assert str(OperatingPoint.parse("Sensitivity=0.95")) == "sensitivity=0.95"
    assert str(OperatingPoint.parse("youden")) == "youden"
