import pytest

from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.reports import Labeler
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
        ("other", "granuloma"), ("other", "extrapulmonary air")]


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


def test_pleural_thickening_only_for_the_pleura(vocab):
    for text in ("Mild bronchial wall thickening.", "Peribronchial thickening.",
                 "Peribronchial cuffing.", "Thickening of the interlobular septa.",
                 "Airway wall thickening.", "Thickened bronchial walls."):
        assert "Pleural_Thickening" not in [m.finding for m in vocab.find(text)], text
    for text in ("Pleural thickening at the left base.", "Biapical pleural thickening.",
                 "Thickening of the minor fissure.", "Apical capping."):
        assert [m.finding for m in vocab.find(text)] == ["Pleural_Thickening"], text


def test_openi_coding_reads_any_thickening_as_pleural():
    openi = Vocabulary.default("openi")
    assert [m.finding for m in openi.find("Mild bronchial wall thickening.")] == [
        "Pleural_Thickening"]
    assert [m.finding for m in openi.find("Peribronchial cuffing.")] == ["Pleural_Thickening"]


def test_size_words_and_extrapulmonary_air_are_not_findings(vocab):
    for text, finding in (("Massive cardiomegaly.", "Mass"), ("Massively enlarged heart.", "Mass"),
                          ("Mediastinal emphysema.", "Emphysema"),
                          ("Small right shoulder joint effusion.", "Effusion"),
                          ("Umbilical hernia.", "Hernia"), ("Soft tissue mass.", "Mass")):
        assert finding not in [m.finding for m in vocab.find(text)], text


def test_other_findings_have_a_counts_column_and_devices_do_not_count(vocab):
    from chestx.reports.vocabulary import data_file, read_tsv

    rows = read_tsv(data_file("other_findings.tsv"))
    assert all(row["counts"] in ("yes", "no", "openi") for row in rows)
    for text in ("Endotracheal tube.", "Right PICC line.", "Pacemaker.", "Sternotomy wires.",
                 "Surgical clips.", "Nasogastric tube.", "ECG leads."):
        (match,) = vocab.find(text)
        assert match.kind == "other" and not match.counts, text
    (granuloma,) = vocab.find("Calcified granuloma.")
    assert granuloma.counts
    (device,) = Vocabulary.default("openi").find("Endotracheal tube.")
    assert device.counts  # OpenI's annotators code devices as findings


def test_bad_counts_value_is_refused(tmp_path):
    path = tmp_path / "other.tsv"
    path.write_text("finding\tpattern\tcounts\tcomment\nx\tfoo\tmaybe\t\n")
    with pytest.raises(ChestxError, match="counts must be one of"):
        load_terms(path, "other")


def test_every_sign_line_has_an_id_and_an_example_that_yields_it(labeler):
    """Findings named by their sign: each line's example is labeled through THAT line (by
    id), uncertain where the sign only suggests the finding."""
    signs = [t for t in Vocabulary.default().terms if t.id]
    assert len(signs) >= 10 and all(t.id.startswith("sign.") and t.example for t in signs)
    wrong = []
    for term in signs:
        hits = [m for m in labeler.label(term.example).mentions if m.term == term.id]
        want = -1 if term.hedged else 0 if term.denied else 1
        if not hits or hits[0].finding != term.finding or hits[0].status != want:
            wrong.append((term.id, term.example, [(m.text, m.term, m.status) for m in hits]))
        if term.hedged and hits and hits[0].rule != term.id:
            wrong.append((term.id, "hedged sign must name itself as the rule", hits[0].rule))
    assert not wrong, wrong


def test_openi_coding_keeps_a_nodular_opacity_out_of_nodule(labeler):
    openi = Labeler(nlp=labeler.nlp, coding="openi")
    text = "Nodular opacity in the right upper lobe."
    assert labeler.label(text).labels["Nodule"] == 1
    result = openi.label(text)
    assert result.labels["Nodule"] is None and result.normal == 0


def test_wrapped_terms_match_across_the_line_break():
    vocab = Vocabulary.default()
    (match,) = [m for m in vocab.find("small pleural\neffusion") if m.kind == "finding"]
    assert match.text == "pleural\neffusion" and match.finding == "Effusion"
