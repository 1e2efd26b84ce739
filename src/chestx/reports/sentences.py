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
    r"(?<=[.!?;])(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)"  # not after "vs." / "e.g." / "i.e."
    r"(?:\s+|(?=[A-Z]))"             # "effusion. Heart", "apex.There"
    r"|\s*\n\s*"                     # line breaks
    r"|(?<=\s)(?=\d{1,2}[.)]\s)"     # " 2. Next item"
)

#: A clause boundary inside a sentence: a contrast word (the negation or hedge before it does
#: not reach past it), or a comma that starts a new finding phrase (see :func:`split_clauses`).
_CONTRAST = re.compile(r"[,]?\s+(?=(?:but|however|though|although|whereas|yet)\b)"
                       r"|(?<=,)\s*(?=(?:however|though|although)\b)", re.IGNORECASE)
#: Words that open a new finding phrase after a comma: a size, severity, course, side or
#: extent of its own, a number, or a new statement ("No pneumothorax, small left effusion").
_OPENERS = frozenset("""
    small large moderate moderately mild mildly minimal minor trace tiny massive marked markedly
    severe slight slightly subtle borderline stable unchanged persistent persisting chronic
    new newly increased increasing decreased decreasing improved improving worsened worsening
    residual known recurrent left right bilateral bibasilar bibasal basilar apical biapical
    patchy diffuse scattered multiple calcified hyperinflated hyperexpanded enlarged there
    with no not without negative otherwise again also cannot possible possibly probable
    probably likely may might could the a an mildly-enlarged
""".split())
#: Openers that are themselves a negation or hedge: they always start a new clause.
_CUES = frozenset("no not without negative cannot possible possibly probable probably likely "
                  "may might could".split())
_COMMA = re.compile(r",\s*")
#: A verb or status word: the phrase after a comma is a statement, not a list item.
_STATUS = re.compile(r"\b(?:is|are|was|were|has|have|remains?|persists?|unchanged|stable|"
                     r"again|noted|present|seen|identified|demonstrated|appears?)\b",
                     re.IGNORECASE)
_LIST_END = re.compile(r",?\s*(?:and/or|or|nor)\s", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?|\d", re.IGNORECASE)

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


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clauses ``(start, end)`` of the sentence ``text[start:end]``.

    A negation or hedge governs its own clause only. A clause ends before ``but``,
    ``however``, ``though``, ``although``, ``whereas``, ``yet``, and at a comma whose next
    phrase opens with its own modifier or statement (:data:`_OPENERS`) or says something of
    its own (a verb or status word, :data:`_STATUS`), unless the list goes on with ``or`` /
    ``nor`` ("no consolidation, large effusion, or pneumothorax" is one
    negated list; "no pneumothorax, small left effusion" is two statements).
    """
    cuts = [m.start() for m in _CONTRAST.finditer(text, start, end) if m.start() > start]
    cuts += [m.end() for m in _COMMA.finditer(text, start, end)
             if _opens_clause(text, m.end(), end)]
    bounds, out = sorted(set(cuts)), []
    for left, right in zip([start, *bounds], [*bounds, end], strict=True):
        chunk = text[left:right]
        lead = len(chunk) - len(chunk.lstrip(" ,"))
        stripped = chunk.strip(" ,")
        if stripped:
            out.append((left + lead, left + lead + len(stripped)))
    return out


def _opens_clause(text: str, at: int, end: int) -> bool:
    word = _FIRST_WORD.match(text, at, end)
    if word is None:
        return False
    first = word.group().lower()
    if first in _CUES:
        return True
    rest = text[at:end]
    following = rest.split(",")
    opener = first.split("-")[0] in _OPENERS or first.isdigit()  # "moderate-sized" too
    # "..., cardiomegaly is unchanged": the phrase states something of its own
    if not opener and not _STATUS.search(following[0]):
        return False
    # a list that goes on with "or"/"nor" after this phrase is one negated or hedged list
    return not any(_LIST_END.match(" " + part.lstrip()) for part in following[1:]) and \
        not re.search(r"\b(?:or|nor)\b", following[0], re.IGNORECASE)
