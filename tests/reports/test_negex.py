from chestx.reports.negex import NegexLabeler


def statuses(text, **kwargs):
    (result,) = NegexLabeler(**kwargs).label_batch([text])
    return [(m.text, m.status) for m in result.mentions]


def test_window_negation_and_stop_words():
    assert statuses("No effusion, pneumothorax or consolidation.") == [
        ("effusion", 0), ("pneumothorax", 0), ("consolidation", 0)]
    assert statuses("Small effusion but no pneumothorax.") == [
        ("effusion", 1), ("pneumothorax", 0)]
    assert statuses("Pneumothorax is not seen.") == [("Pneumothorax", 0)]
    assert statuses("Possible pneumonia.") == [("pneumonia", -1)]


def test_window_limit():
    text = "No focal airspace disease in the upper or lower lungs or effusion."
    assert statuses(text)[-1] == ("effusion", 0)
    assert statuses(text, window=5)[-1] == ("effusion", 1)  # too far from "No"
