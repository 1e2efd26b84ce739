"""Sentences: cheap, rule-based splitting of report sections into sentences.

Reports are terse and well punctuated, so a regex splitter is enough and keeps the parser's
input short. It splits after ``.``, ``!``, ``?`` and ``;`` when whitespace or a capital
follows (not inside ``2.5 cm``), at line breaks, and before list numbers (``1.``, ``2)``).
``XXXX`` anonymisation tokens are ordinary words here: ``XXXX.`` ends a sentence like any
other word, and ``XXXX-year-old`` stays one token.
"""

from __future__ import annotations

import re

# A sentence boundary: end punctuation then space/newline/capital, or a line break,
# or a list number at the start of an item ("1. ", "2) ").
_BOUNDARY = re.compile(
    r"(?<=[.!?;])(?:\s+|(?=[A-Z]))"  # "effusion. Heart", "apex.There"
    r"|\s*\n\s*"                     # line breaks
    r"|(?<=\s)(?=\d{1,2}[.)]\s)"     # " 2. Next item"
)

#: Sentences longer than this are cut (a 1 MB report must not reach the parser whole).
MAX_SENTENCE_CHARS = 1000


def split_sentences(text: str, spans: list[tuple[int, int]] | None = None
                    ) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` inside ``spans``.

    Spans are stripped of surrounding whitespace; empty sentences and bare list numbers
    (``"1."``) are dropped. ``spans=None`` reads the whole text.
    """
    if spans is None:
        spans = [(0, len(text))]
    sentences: list[tuple[int, int]] = []
    for span_start, span_end in spans:
        start = span_start
        for match in _BOUNDARY.finditer(text, span_start, span_end):
            _add(text, start, match.start(), sentences)
            start = match.end()
        _add(text, start, span_end, sentences)
    return sentences


def _add(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped or re.fullmatch(r"\d{1,2}[.)]?|[.;:,]+", stripped):
        return
    start += len(chunk) - len(chunk.lstrip())
    end = start + len(stripped)
    while end - start > MAX_SENTENCE_CHARS:  # cut runaway "sentences" at a space
        cut = text.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        out.append((start, cut))
        start = cut + 1 if text[cut:cut + 1] == " " else cut
    if end > start:
        out.append((start, end))
