"""Lexical scope cues (scope_rules.tsv) and list chaining (chestx.reports.scope)."""

import re

import pytest

from chestx.errors import ChestxError
from chestx.reports import Labeler
from chestx.reports.rules import NEGATIVE, POSITIVE, UNCERTAIN
from chestx.reports.scope import Scope, is_list_gap, load_cues
from chestx.reports.vocabulary import Match


@pytest.mark.parametrize(("gap", "expected"), [
    (", ", True), (" or ", True), ("/", True), (" ", True),   # separators, or nothing
    (" large ", True), (", or large ", True), (" and/or ", True),
    (" is seen with ", False), (" in the ", False),            # verbs and prepositions end it
    (". ", False), ("; ", False),                               # so does punctuation
    (" and mild ", False),                                      # "no X and mild Y": a new statement
    (" a b c d e ", False),                                     # too many modifiers
])
def test_list_gap_by_hand(gap, expected):
    assert is_list_gap(gap) is expected


def _matches(clause, words):
    out = []
    for word in words:
        start = re.search(word, clause).start()
        out.append(Match("Effusion", "finding", start, start + len(word), word))
    return out


def test_negation_overrides_a_differential_but_not_a_pre_rule():
    clause = "No consolidation large effusion or pneumothorax"
    matches = _matches(clause, ["consolidation", "effusion", "pneumothorax"])
    statuses = [(POSITIVE, ""), (UNCERTAIN, "diff.or"), (UNCERTAIN, "diff.or")]
    out = Scope().apply(clause, matches, statuses)
    assert out == [(NEGATIVE, "scope.no"), (NEGATIVE, "scope.no+list"),
                   (NEGATIVE, "scope.no+list")]
    kept = Scope().apply(clause, matches, [(POSITIVE, "pre.no_change_in")] * 3)
    assert kept[0] == (POSITIVE, "pre.no_change_in")


def test_a_request_does_not_override_a_negation():
    clause = "r/o pneumonia"
    (match,) = _matches(clause, ["pneumonia"])
    assert Scope().apply(clause, [match], [(NEGATIVE, "neg.x")]) == [(NEGATIVE, "neg.x")]
    assert Scope().apply(clause, [match], [(POSITIVE, "")]) == [(UNCERTAIN, "scope.rule_out")]


def test_post_cue_reaches_back_over_a_list():
    clause = "Pneumothorax and pleural effusion are absent"
    matches = _matches(clause, ["Pneumothorax", "pleural effusion"])
    out = Scope().apply(clause, matches, [(POSITIVE, "")] * 2)
    assert out == [(NEGATIVE, "scope.is_absent")] * 2


def test_bad_scope_rule_line(tmp_path):
    path = tmp_path / "cues.tsv"
    path.write_text("id\tstatus\tdirection\tcue\tcomment\texample\n"
                    "x\tnegative\tsideways\tno\t\t\n")
    with pytest.raises(ChestxError, match="bad scope rule line"):
        load_cues(path)


@pytest.mark.parametrize("coding", ["paper", "openi"])
def test_every_scope_rule_example_fires_that_rule(labeler, coding):
    """Each cue has an example; on it the cue fires by id (the parse left out: the cue is the
    safety net where the parser misreads a list), and the labeler gives the example's
    findings the cue's status (where the parse already agrees, its rule id is kept)."""
    lab = labeler if coding == "paper" else Labeler(nlp=labeler.nlp, coding=coding)
    wrong = []
    for cue in lab.scope.cues:
        assert cue.example, f"scope rule {cue.id} has no example"
        matches = lab.vocabulary.find(cue.example)
        lexical = lab.scope.apply(cue.example, matches, [(POSITIVE, "")] * len(matches))
        governed = [m.finding for m, (_, rule) in zip(matches, lexical, strict=True)
                    if rule.removesuffix("+list") == cue.id]
        labels = lab.label(cue.example).labels
        if not governed or any(labels[f] != cue.status for f in governed if f in labels):
            wrong.append((cue.id, cue.example, lexical, labels))
    assert not wrong, wrong


def test_cues_decide_where_the_parse_misreads(labeler):
    """Examples where the rule id in the evidence is the cue's own (the parser missed it)."""
    for text, rule in [
        ("No confluent lobar consolidation or pleural effusion.", "scope.no"),
        ("Lungs free of focal airspace disease pleural effusion or pneumothorax.",
         "scope.free_of"),
        ("Absence of focal airspace disease pleural effusion or pneumothorax.",
         "scope.absence_of"),
        ("Study negative for pneumonia/effusion.", "scope.negative_for"),
        ("Pleural effusion or pneumothorax none seen.", "scope.not_seen"),
        ("Check for pneumothorax.", "scope.evaluate_for"),
    ]:
        rules = {m.rule.removesuffix("+list") for m in labeler.label(text).mentions
                 if m.kind == "finding"}
        assert rules == {rule}, (text, rules)


def test_and_with_a_size_word_starts_a_new_statement(labeler):
    """The parser climbs "and" into the negation; "and stable X" states X."""
    result = labeler.label("IMPRESSION: No acute disease and stable cardiomegaly.")
    assert result.labels["Cardiomegaly"] == POSITIVE
    both = labeler.label("IMPRESSION: No effusion and no pneumothorax.")
    assert both.labels["Effusion"] == NEGATIVE and both.labels["Pneumothorax"] == NEGATIVE
    back = labeler.label("FINDINGS: Cardiomegaly and small effusions are absent.")
    assert back.labels["Cardiomegaly"] == NEGATIVE  # read back from a post cue: one list


def test_word_cues_stop_at_word_edges():
    scope = Scope()
    assert not [h for h in scope._hits("nuclear of the effusion") if h[2].id == "scope.free_of"]
    assert [h[2].id for h in scope._hits("Clear of effusion")] == ["scope.free_of"]
    assert "scope.question_after" in [h[2].id for h in scope._hits("Pneumonia?")]


def test_with_and_a_size_word_starts_a_new_statement(labeler):
    """A denied finding has no size: "no X with small Y" states Y; "no X with Y" does not."""
    stated = labeler.label("IMPRESSION: No cardiomegaly with bilateral small pleural effusions.")
    assert stated.labels["Cardiomegaly"] == NEGATIVE and stated.labels["Effusion"] == POSITIVE
    denied = labeler.label("IMPRESSION: No consolidation with air bronchograms.")
    assert denied.labels["Consolidation"] == NEGATIVE


def test_history_of_is_the_past_unless_a_finding_is_attributed_to_it(labeler):
    past = labeler.label("IMPRESSION: History of pneumonia. The lungs are clear.")
    assert past.labels["Pneumonia"] == NEGATIVE and past.normal == 1
    seen = labeler.label("IMPRESSION: Hyperexpansion consistent with history of emphysema.")
    assert seen.labels["Emphysema"] == POSITIVE
    family = labeler.label("IMPRESSION: Family history of pneumonia.")
    assert family.labels["Pneumonia"] == UNCERTAIN
