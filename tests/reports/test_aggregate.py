from chestx.findings import FINDINGS
from chestx.reports.aggregate import Mention, aggregate, combine, unreadable


def mention(finding, status, kind="finding", counts=True):
    return Mention(finding, kind, finding.lower(), 0, 1, "s", status, "", counts)


def test_precedence_positive_over_uncertain_over_negative():
    assert combine([0, -1, 1]) == 1
    assert combine([0, -1]) == -1
    assert combine([0, 0]) == 0
    assert combine([]) is None


def test_labels_normal_and_finding_labels():
    result = aggregate([mention("Effusion", 0), mention("Effusion", 1),
                        mention("Pneumonia", -1), mention("Mass", 1)])
    assert result.labels["Effusion"] == 1
    assert result.labels["Pneumonia"] == -1
    assert result.labels["Atelectasis"] is None
    assert set(result.labels) == set(FINDINGS)
    assert result.normal == 0
    assert result.finding_labels == "Effusion|Mass"  # NIH order, positives only
    assert result.vector() == [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert result.vector(uncertain_as=1)[FINDINGS.index("Pneumonia")] == 1


def test_normal_rule_uses_other_findings():
    negated_only = aggregate([mention("Effusion", 0), mention("granuloma", 0, "other")])
    assert negated_only.normal == 1 and negated_only.finding_labels == "No Finding"
    other_positive = aggregate([mention("granuloma", 1, "other")])
    assert other_positive.normal == 0 and other_positive.finding_labels == "No Finding"
    not_counting = aggregate([mention("device", 1, "other", counts=False)])
    assert not_counting.normal == 1
    uncertain_only = aggregate([mention("Pneumonia", -1)])  # "may represent pneumonia"
    assert uncertain_only.normal == 0 and uncertain_only.finding_labels == "No Finding"


def test_unreadable_is_blank():
    result = unreadable("report text is empty")
    assert result.normal is None and all(v is None for v in result.labels.values())
    assert result.error == "report text is empty"
