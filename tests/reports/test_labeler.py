"""The public API used by other stages: chestx.reports.label_reports."""

import re

from chestx.findings import FINDINGS
from chestx.reports import Labeler, ReportLabels, label_reports
from chestx.reports.labeler import parser_text, propagate_lists
from chestx.reports.vocabulary import Match

REPORTS = [
    "FINDINGS: Small left pleural effusion. IMPRESSION: Effusion.",
    "IMPRESSION: No acute cardiopulmonary abnormality.",
    "",
    "FINDINGS: Stable cardiomegaly. No pneumothorax.",
]


def test_label_reports_in_order_from_a_generator():
    results = label_reports(text for text in REPORTS)  # any iterable, lazily consumed
    results = list(results)
    assert all(isinstance(r, ReportLabels) for r in results)
    assert [r.finding_labels for r in results] == ["Effusion", "No Finding", "No Finding",
                                                   "Cardiomegaly"]
    assert [r.normal for r in results] == [0, 1, None, 0]
    assert results[2].error == "report text is empty"
    assert set(results[0].labels) == set(FINDINGS)
    assert results[3].labels["Pneumothorax"] == 0


def test_workers_give_the_same_labels(labeler):
    texts = REPORTS * 40
    one = [r.finding_labels for r in labeler.label_reports(texts)]
    two = [r.finding_labels for r in labeler.label_reports(iter(texts), workers=2)]
    assert one == two


def test_sections_limit_what_is_read(labeler):
    text = "INDICATION: Pneumonia.\nFINDINGS: Clear lungs.\nIMPRESSION: Normal."
    result = labeler.label(text)
    assert result.labels["Pneumonia"] is None and result.normal == 1
    whole = labeler.label("Right lower lobe pneumonia. Clear left lung.")  # no sections: whole
    assert whole.labels["Pneumonia"] == 1


def test_mentions_point_into_the_report(labeler):
    text = "COMPARISON: None.\nFINDINGS: XXXX opacity. Large right pneumothorax."
    (pneumo,) = [m for m in labeler.label(text).mentions if m.finding == "Pneumothorax"]
    assert text[pneumo.start:pneumo.end] == "pneumothorax" and pneumo.status == 1
    assert pneumo.sentence == "Large right pneumothorax."


def test_sentences_without_rule_words_are_not_parsed():
    lab = Labeler()
    lab.label_batch(["FINDINGS: Stable cardiomegaly. Small effusion."])
    assert lab.parsed == 0 and lab._nlp is None  # not even loaded
    lab.label_batch(["FINDINGS: No effusion. No effusion."])
    assert lab.parsed == 1  # one parse, then the cache


def test_cache_is_bounded(labeler):
    lab = Labeler(nlp=labeler.nlp, cache_size=3)
    texts = [f"FINDINGS: No effusion number {i}." for i in range(10)]
    results = list(lab.label_reports(texts))
    assert len(lab._cache) == 3
    assert all(r.labels["Effusion"] == 0 for r in results)


def test_list_propagation_needs_a_list_gap():
    sentence = "No consolidation, large effusion, or pneumothorax. Small mass."
    words = ["consolidation", "effusion", "pneumothorax", "mass"]
    matches = []
    for word in words:
        start = re.search(word, sentence).start()
        matches.append(Match("Mass", "finding", start, start + len(word), word))
    statuses = [(0, "neg.no"), (1, ""), (1, ""), (1, "")]
    out = propagate_lists(sentence, matches, statuses)
    assert out[:3] == [(0, "neg.no"), (0, "neg.no+list"), (0, "neg.no+list")]
    assert out[3] == (1, "")  # ". Small" is not a list gap


def test_parser_text_keeps_offsets_and_reads_left_as_a_side():
    clause = "Left lower lobe atelectasis; the left effusion (leftover)."
    out = parser_text(clause)
    assert len(out) == len(clause)
    assert out == "Mild lower lobe atelectasis; the mild effusion (leftover)."


def test_evidence_keeps_the_whole_sentence_of_a_clause(labeler):
    text = "IMPRESSION: No pneumothorax, small left pleural effusion."
    (effusion,) = [m for m in labeler.label(text).mentions if m.finding == "Effusion"]
    assert effusion.status == 1
    assert effusion.sentence == "No pneumothorax, small left pleural effusion."
    assert text[effusion.start:effusion.end] == "pleural effusion"
