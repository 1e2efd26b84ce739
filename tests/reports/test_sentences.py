import pytest

from chestx.errors import ChestxError
from chestx.reports.sentences import (
    MAX_SENTENCE_CHARS,
    ClauseSplitter,
    read_clause_words,
    split_clauses,
    split_sentences,
)


def sents(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_on_periods_semicolons_and_lines():
    assert sents("No effusion. Small nodule; no mass\nHeart normal.") == [
        "No effusion.", "Small nodule;", "no mass", "Heart normal."]


def test_decimals_and_xxxx_do_not_break():
    assert sents("A 2.5 cm nodule. XXXX-year-old XXXX. Stable.") == [
        "A 2.5 cm nodule.", "XXXX-year-old XXXX.", "Stable."]


def test_missing_space_after_period_and_list_numbers():
    assert sents("Left apex.There is scarring. 1. Emphysema. 2. No effusion.") == [
        "Left apex.", "There is scarring.", "Emphysema.", "No effusion."]


def test_offsets_point_into_the_text_and_spans_are_respected():
    text = "IGNORED. Kept one. Kept two."
    spans = split_sentences(text, [(9, len(text))])
    assert [text[a:b] for a, b in spans] == ["Kept one.", "Kept two."]


def test_runaway_sentence_is_cut():
    text = "word " * 1000
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(b - a <= MAX_SENTENCE_CHARS for a, b in pieces)


def _clauses(text):
    return [text[a:b] for a, b in split_clauses(text, 0, len(text))]


def test_clauses_end_at_contrast_words_and_new_finding_phrases():
    assert _clauses("No pneumothorax, small left pleural effusion.") == [
        "No pneumothorax", "small left pleural effusion."]
    assert _clauses("No evidence of pneumonia, but there is a small effusion.") == [
        "No evidence of pneumonia", "but there is a small effusion."]
    assert _clauses("Mild cardiomegaly, no edema or effusion.") == [
        "Mild cardiomegaly", "no edema or effusion."]


def test_a_list_that_goes_on_with_or_is_one_clause():
    for text in ("No focal consolidation, large pleural effusion, or pneumothorax is seen.",
                 "No pleural effusion, pneumothorax or consolidation.",
                 "Opacity that may represent atelectasis, pneumonia, or aspiration."):
        assert _clauses(text) == [text]


def test_vs_does_not_end_a_sentence():
    text = "Pneumonia vs. edema. Small effusion."
    assert [text[a:b] for a, b in split_sentences(text)] == ["Pneumonia vs. edema.",
                                                            "Small effusion."]


def test_clause_words_come_from_the_data_file(tmp_path):
    only_but = ClauseSplitter({"contrast": {"but"}})
    text = "No pneumothorax, small effusion but mild edema."
    assert [text[a:b] for a, b in only_but.split(text, 0, len(text))] == [
        "No pneumothorax, small effusion", "but mild edema."]
    bad = tmp_path / "words.tsv"
    bad.write_text("word\tkind\tcomment\nbut\tsometimes\t\n")
    with pytest.raises(ChestxError, match="bad clause-word line"):
        read_clause_words(bad)


def test_not_yet_is_no_clause_boundary():
    assert _clauses("The effusion has not yet resolved.") == ["The effusion has not yet resolved."]


@pytest.mark.parametrize(("text", "expected"), [
    # a hard wrap inside a sentence is no boundary
    ("No\npneumothorax.", ["No\npneumothorax."]),
    ("The lungs are clear without\nfocal consolidation.", ["The lungs are clear without\n"
                                                          "focal consolidation."]),
    ("No focal consolidation,\npleural effusion or pneumothorax.",
     ["No focal consolidation,\npleural effusion or pneumothorax."]),
    ("Heart size is normal\nand the lungs are clear.",
     ["Heart size is normal\nand the lungs are clear."]),
    # a line without a final period ends its sentence when the next line starts a new one
    ("No pneumothorax\nMild cardiomegaly", ["No pneumothorax", "Mild cardiomegaly"]),
    ("1. No pneumothorax\n2. Small effusion", ["No pneumothorax", "Small effusion"]),
    ("No effusion\n\nstable nodule", ["No effusion", "stable nodule"]),
    # upper case: a short line is a sentence, a long one is wrapped
    ("NO ACUTE DISEASE\nMILD CARDIOMEGALY", ["NO ACUTE DISEASE", "MILD CARDIOMEGALY"]),
    ("NO FOCAL CONSOLIDATION OR\nPLEURAL EFFUSION.", ["NO FOCAL CONSOLIDATION OR\n"
                                                     "PLEURAL EFFUSION."]),
    ("THE LUNGS ARE CLEAR BILATERALLY AND THE HEART IS NORMAL IN\nSIZE. NO EFFUSION",
     ["THE LUNGS ARE CLEAR BILATERALLY AND THE HEART IS NORMAL IN\nSIZE.", "NO EFFUSION"]),
    ("THERE IS A SMALL LEFT PLEURAL EFFUSION WITH ASSOCIATED LEFT BASILAR\nATELECTASIS",
     ["THERE IS A SMALL LEFT PLEURAL EFFUSION WITH ASSOCIATED LEFT BASILAR\nATELECTASIS"]),
    # numbering without a space after the number
    ("Impression: 1.No effusion 2.Small nodule", ["Impression:", "No effusion",
                                                  "Small nodule"]),
])
def test_text_as_hospitals_store_it(text, expected):
    assert sents(text) == expected


def test_a_question_mark_before_a_word_does_not_end_a_sentence():
    assert sents("? pneumonia. Pneumonia? No effusion.") == [
        "? pneumonia.", "Pneumonia?", "No effusion."]


def test_an_introductory_phrase_keeps_its_comma():
    text = "In the appropriate clinical setting, this is compatible with pneumonia."
    assert _clauses(text) == [text]
    assert _clauses("No pneumothorax, small left pleural effusion.") == [
        "No pneumothorax", "small left pleural effusion."]


def test_short_lower_case_lines_are_list_items():
    assert sents("no pneumothorax\nsmall left effusion") == ["no pneumothorax",
                                                             "small left effusion"]
    assert sents("The heart is mildly\nenlarged.") == ["The heart is mildly\nenlarged."]


def test_a_relative_clause_stays_with_the_phrase_it_speaks_of():
    text = "Small effusion, which has since resolved."
    assert _clauses(text) == [text]
    # the same status word without "which" opens a clause of its own
    assert _clauses("No pneumothorax, the effusion has resolved.") == [
        "No pneumothorax", "the effusion has resolved."]


def test_a_denied_list_keeps_its_items_together():
    """"A, B, and C are not seen": the plural verb makes the whole list its subject."""
    text = "Pleural effusion, pneumothorax, and consolidation are not seen."
    assert _clauses(text) == [text]
    assert _clauses("Cardiomegaly, and effusion is not seen.") == [
        "Cardiomegaly", "and effusion is not seen."]
