"""Negation / uncertainty on the dependency graph: one sentence per linguistic case."""

import pytest

from chestx.errors import ChestxError
from chestx.reports import Labeler
from chestx.reports.rules import (
    NEGATIVE,
    POSITIVE,
    UNCERTAIN,
    RuleSet,
    WordSet,
    load_rules,
    parse_pattern,
)

P, N, U = POSITIVE, NEGATIVE, UNCERTAIN

CASES = [
    # plain assertions and modifiers that do not negate
    ("Stable cardiomegaly.", "Cardiomegaly", P),
    ("Unchanged left basilar atelectasis.", "Atelectasis", P),
    ("There is a small right pleural effusion.", "Effusion", P),
    # negation: determiners, prepositions, coordination
    ("No pleural effusion.", "Effusion", N),
    ("No effusion, pneumothorax or consolidation.", "Consolidation", N),
    ("No effusion, pneumothorax or consolidation.", "Pneumothorax", N),
    ("No focal consolidation, large pleural effusion, or pneumothorax is identified.",
     "Pneumothorax", N),
    ("Clear of focal airspace disease, pneumothorax, or pleural effusion.", "Effusion", N),
    ("The lungs are clear without infiltrate or effusion.", "Infiltration", N),
    ("Changes without evidence of acute infiltrate.", "Infiltration", N),
    ("No evidence of pneumothorax.", "Pneumothorax", N),
    ("Negative for pneumothorax.", "Pneumothorax", N),
    ("Pneumothorax is not identified.", "Pneumothorax", N),
    ("No new effusion.", "Effusion", N),
    ("No focal consolidation to suggest pneumonia.", "Pneumonia", N),
    ("The right pneumothorax has resolved.", "Pneumothorax", N),
    ("Resolved right pneumothorax.", "Pneumothorax", N),
    ("Atelectasis rather than pneumonia.", "Pneumonia", N),
    ("Atelectasis rather than pneumonia.", "Atelectasis", P),
    ("No parenchymal infiltrates.", "Infiltration", N),
    ("Interval resolution of the right pleural effusion.", "Effusion", N),
    ("Pneumothorax is no longer visualized.", "Pneumothorax", N),
    ("There is no pneumothorax, however there is a small left effusion.", "Effusion", P),
    ("Pneumonia is unlikely.", "Pneumonia", N),
    ("Cardiomegaly without pulmonary edema.", "Edema", N),
    ("Cardiomegaly without pulmonary edema.", "Cardiomegaly", P),
    # constructions with a negation word that do not negate
    ("No change in the left pleural effusion.", "Effusion", P),
    ("Cannot exclude a small left effusion.", "Effusion", U),
    ("A small effusion cannot be excluded.", "Effusion", U),
    ("We cannot rule out a small effusion.", "Effusion", U),
    ("It is difficult to exclude pneumonia.", "Pneumonia", U),
    ("Effusion is not excluded.", "Effusion", U),
    ("No change in the size of the right lung nodule.", "Nodule", P),
    # uncertainty
    ("Left basilar opacity may represent atelectasis or pneumonia.", "Pneumonia", U),
    ("Left basilar opacity may represent atelectasis or pneumonia.", "Atelectasis", U),
    ("This could be due to a nodule.", "Nodule", U),
    ("Possible right lower lobe pneumonia.", "Pneumonia", U),
    ("This raises concern for pneumonia.", "Pneumonia", U),
    ("The differential diagnosis includes pneumonia and edema.", "Edema", U),
    ("Cannot distinguish atelectasis from pneumonia.", "Pneumonia", U),
    ("Rule out pneumonia.", "Pneumonia", U),
    ("Pneumonia is less likely.", "Pneumonia", U),
    ("Findings suggestive of emphysema.", "Emphysema", U),
    ("A true pulmonary nodule is a possibility.", "Nodule", U),
    # a differential asserts neither candidate: both uncertain (negation still wins)
    ("Atelectasis versus scarring in the left base.", "Atelectasis", U),
    ("Streaky opacity, scarring versus atelectasis.", "Atelectasis", U),
    ("Cardiomegaly versus pericardial effusion.", "Effusion", U),
    ("Cardiomegaly versus pericardial effusion.", "Cardiomegaly", U),
    ("Scarring or atelectasis at the left base.", "Atelectasis", U),
    ("No effusion or pneumothorax.", "Pneumothorax", N),
    # neither ... nor
    ("Neither pneumothorax nor effusion.", "Pneumothorax", N),
    ("Neither pneumothorax nor effusion.", "Effusion", N),
    # clause boundaries stop a negation
    ("No pneumothorax, small left pleural effusion.", "Effusion", P),
    ("No evidence of pneumonia, but there is a small left effusion.", "Effusion", P),
    ("No focal consolidation, large pleural effusion, or pneumothorax.", "Effusion", N),
]


@pytest.mark.parametrize(("sentence", "finding", "expected"), CASES)
def test_linguistic_case(labeler, sentence, finding, expected):
    result = labeler.label(sentence)
    assert result.labels[finding] == expected, [(m.text, m.status, m.rule)
                                                for m in result.mentions]


def test_rule_id_is_recorded(labeler):
    (mention,) = labeler.label("Negative for pneumothorax.").mentions
    assert mention.rule == "neg.negative_for"
    assert mention.status == NEGATIVE


def test_parse_pattern_steps():
    steps = parse_pattern("DISEASE <pobj of <prep clear|free [det:no] <** may >nsubj *")
    assert [s.kind for s in steps] == ["up", "up", "child", "any_up", "down"]
    assert "free" in steps[1].word and "of" not in steps[1].word
    assert "suggesting" in WordSet.parse("suggest*") and "sugar" not in WordSet.parse("sug")


def test_parse_pattern_rejects_garbage():
    with pytest.raises(ValueError):
        parse_pattern("DISEASE of")
    with pytest.raises(ValueError):
        parse_pattern("DISEASE")


def test_rule_without_literal_word_is_refused(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("id\tpattern\tcomment\texample\nx\tDISEASE <nsubj *\t\t\n")
    with pytest.raises(ChestxError, match="no literal word"):
        load_rules(path, NEGATIVE)


def test_could_fire_needs_every_word_of_a_rule():
    rules = RuleSet.default()
    assert not rules.could_fire({"stable", "cardiomegaly"})
    assert rules.could_fire({"no", "effusion"})
    clear_of = [r for r in rules.rules if r.id == "neg.clear_of"]
    only = RuleSet([], clear_of, [])
    assert only.could_fire({"clear", "of", "effusion"})
    assert not only.could_fire({"clear", "effusion"})  # "of" missing


def _fired(labeler, sentence: str) -> set[str]:
    """Rule ids that labeled the findings of ``sentence`` (list propagation stripped)."""
    return {m.rule.removesuffix("+list") for m in labeler.label(sentence).mentions
            if m.kind == "finding"}


@pytest.mark.parametrize("coding", ["paper", "openi"])
def test_every_rule_example_fires_that_rule(labeler, coding):
    """Each rule has an example, and the example is labeled by THAT rule (by id)."""
    lab = labeler if coding == "paper" else Labeler(nlp=labeler.nlp, coding=coding)
    wrong = []
    for rule in lab.rules.rules:
        assert rule.example, f"rule {rule.id} has no example"
        fired = _fired(lab, rule.example)
        if rule.id not in fired:
            wrong.append((rule.id, rule.example, sorted(fired)))
    assert not wrong, wrong


def test_openi_coding_makes_differentials_positive(labeler):
    openi = Labeler(nlp=labeler.nlp, coding="openi")
    result = openi.label("Atelectasis versus consolidation.")
    assert result.labels["Atelectasis"] == P and result.labels["Consolidation"] == P
    paper = labeler.label("Atelectasis versus consolidation.")
    assert paper.labels["Atelectasis"] == U and paper.labels["Consolidation"] == U


def test_likely_is_a_hedge_by_default_and_present_for_openi_less_likely_in_both(labeler):
    openi = Labeler(nlp=labeler.nlp, coding="openi")
    for lab, likely in ((labeler, U), (openi, P)):
        assert lab.label("Bibasilar opacities, likely atelectasis.").labels["Atelectasis"] == likely
        assert lab.label("Pneumonia less likely.").labels["Pneumonia"] == U
        both = lab.label("Atelectasis more likely than pneumonia.").labels
        assert both["Atelectasis"] == likely and both["Pneumonia"] == U


def test_applicable_rules_are_remembered_per_word_set_and_stay_correct():
    rules = RuleSet.default()
    words = {"no", "effusion", "or", "pneumothorax"}
    first = rules.applicable(words)
    # the same rule words give the same rules (from the memo), other words do not matter
    assert rules.applicable(words | {"lungs"}) == first
    first.clear()  # a caller's list is its own: the memo is not changed through it
    again = rules.applicable(words)
    assert again and all(r.id for r in again)
    assert [r.id for r in again] == [
        r.id for r in rules.rules
        if all(any(w in ws for w in words) for ws in r.literal_words())]
    assert rules.applicable({"lungs", "clear"}) == []
