"""Negation / uncertainty on the dependency graph: one sentence per linguistic case."""

import pytest

from chestx.errors import ChestxError
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
    # differential named as the leading diagnoses: OpenI codes both findings
    ("Atelectasis versus scarring in the left base.", "Atelectasis", P),
    ("Streaky opacity, scarring versus atelectasis.", "Atelectasis", P),
    ("Cardiomegaly versus pericardial effusion.", "Effusion", P),
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


def test_shipped_rule_examples_fire_their_own_rule(labeler):
    """Each rule's example sentence is labeled by some rule with that rule's status."""
    for rule in labeler.rules.rules:
        if not rule.example:
            continue
        result = labeler.label(rule.example)
        statuses = {m.status for m in result.mentions if m.kind == "finding"}
        assert rule.status in statuses, (rule.id, rule.example,
                                         [(m.text, m.status, m.rule) for m in result.mentions])
