from chestx.reports.sentences import MAX_SENTENCE_CHARS, split_sentences


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
