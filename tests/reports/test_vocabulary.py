import pytest

from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.reports.vocabulary import Term, Vocabulary, load_terms


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.default()


def found(vocab, sentence):
    return [(m.finding, m.text) for m in vocab.find(sentence)]


def test_every_finding_has_a_synonym(vocab):
    assert {t.finding for t in vocab.terms if t.kind == "finding"} == set(FINDINGS)


def test_longest_match_wins(vocab):
    assert found(vocab, "Small left pleural effusion.") == [("Effusion", "pleural effusion")]


def test_exclusion_blocks_a_false_finding(vocab):
    assert found(vocab, "There is no mass effect.") == []


def test_word_boundaries(vocab):
    # "masses" is a Mass, "massive" is not; "nodules" is a Nodule
    assert found(vocab, "Massive bowel. Two masses and nodules.") == [
        ("Mass", "masses"), ("Nodule", "nodules")]


def test_spelling_variants_and_other_findings(vocab):
    assert [f for f, _ in found(vocab, "Atelectases, infiltrates, oedema, hiatus hernia.")] == [
        "Atelectasis", "Infiltration", "Edema", "Hernia"]
    other = vocab.find("A granuloma and subcutaneous emphysema.")
    assert [(m.kind, m.finding) for m in other] == [
        ("other", "granuloma"), ("other", "subcutaneous emphysema")]


def test_offsets_keep_original_case(vocab):
    sentence = "Stable CARDIOMEGALY."
    (match,) = vocab.find(sentence)
    assert sentence[match.start:match.end] == "CARDIOMEGALY" == match.text


def test_custom_terms():
    vocab = Vocabulary([Term("Mass", "lump", "finding"), Term("-", "lump sum", "exclude")])
    assert [m.text for m in vocab.find("A lump. A lump sum.")] == ["lump"]


def test_bad_vocabulary_file(tmp_path):
    path = tmp_path / "v.tsv"
    path.write_text("finding\tpattern\tcui\tcomment\nTumour\ttumou?r\t\t\n")
    with pytest.raises(ChestxError, match="not one of the 14"):
        load_terms(path, "finding")
    path.write_text("finding\tpattern\tcui\tcomment\nMass\t(unclosed\t\t\n")
    with pytest.raises(ChestxError, match="bad pattern"):
        load_terms(path, "finding")


def test_expand_keeps_the_language():
    import re

    from chestx.reports.vocabulary import _expand

    assert _expand("(surgical |vascular )?clips|tip") == [
        "surgical clips", "vascular clips", "clips", "tip"]
    assert _expand("(?:a|b)c") == ["(?:a|b)c"]
    pattern = "(heart|cardiac silhouette)( (is|appears))* (mildly )?enlarged|cardiomegaly"
    texts = ["heart is enlarged", "cardiac silhouette appears mildly enlarged", "cardiomegaly",
             "heart enlarged", "heart is normal"]
    for text in texts:
        whole = bool(re.fullmatch(f"(?:{pattern})", text))
        parts = any(re.fullmatch(f"(?:{alt})", text) for alt in _expand(pattern))
        assert whole == parts, text
