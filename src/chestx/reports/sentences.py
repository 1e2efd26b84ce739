"""Sentences: cheap, rule-based splitting of report sections into sentences.

Reports are terse and well punctuated, so a regex splitter is enough and keeps the parser's
input short. It splits after ``.``, ``!``, ``?`` and ``;`` when whitespace or a capital
follows (not inside ``2.5 cm``), at line breaks, and before list numbers (``1.``, ``2)``).
``XXXX`` anonymisation tokens are ordinary words here: ``XXXX.`` ends a sentence like any
other word, and ``XXXX-year-old`` stays one token.

Sentences are then cut into clauses (:class:`ClauseSplitter`, words in ``clause_words.tsv``):
the labeler parses and judges each clause on its own, so a negation or hedge stops at the
clause's edge.
"""

from __future__ import annotations

import re
from pathlib import Path

from chestx.errors import ChestxError
from chestx.reports.vocabulary import data_file, read_tsv

# A sentence boundary: end punctuation then space/newline/capital, a line break (kept only
# where a line ends a sentence: see _line_ends_sentence), or a list number at the start of
# an item ("1. ", "2) ", "3.No").
_BOUNDARY = re.compile(
    r"(?:(?<=[.!;])|(?<=\w\?))"  # "?" ends a sentence after a word ("? pneumonia" goes on)
    r"(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)"  # not after "vs." / "e.g." / "i.e."
    r"(?:\s+|(?=[A-Z]))"             # "effusion. Heart", "apex.There"
    r"|(?P<line>[ \t]*\n\s*)"        # line breaks
    r"|(?<=\s)(?=\d{1,2}[.)](?:\s|[A-Za-z]))"  # " 2. Next item", " 3.No effusion"
)
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]|[-*\u2022])(?:\s|[A-Za-z])")
_PUNCT = ".,;:!?()[]\"'"
_FIRST_WORD_OF_LINE = re.compile(r"[A-Za-z'/-]+")
#: An upper-case line at least this long that ends without punctuation is hard-wrapped.
WRAP_CHARS = 50
#: A shorter line followed by a lower-case one is an item of a list ("no pneumothorax\n
#: small left effusion"), a longer one is wrapped.
LIST_LINE_CHARS = 30

#: The clause-boundary words shipped beside this module (see :class:`ClauseSplitter`).
CLAUSE_WORDS = "clause_words.tsv"
_COMMA = re.compile(r",\s*")
# "or" / "nor", or a slash between two words ("effusion/pneumothorax"), coordinates a list
_OR = re.compile(r"\b(?:or|nor)\b|[a-z]/[a-z]", re.IGNORECASE)
_LIST_END = re.compile(r",?\s*(?:and/or|or|nor)\s", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?|\d", re.IGNORECASE)
#: The last item of a list whose statement is denied: "A, B, and C are not seen" (a plural
#: verb after "and": the whole list is the subject), "A, B, or C is not seen".
_DENIED_LAST_ITEM = re.compile(
    r"\s*(?:and\s+([a-z]+)[^,]*\b(?:are|were|have)\b|or\s+([a-z]+))[^,]*"
    r"\b(?:not|no longer|absent|none)\b", re.IGNORECASE)

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
            if match.group("line") is not None and not _line_ends_sentence(
                    text, start, match.start(), match.end(), span_end):
                continue  # a hard-wrapped line: the sentence goes on
            _add(text, start, match.start(), sentences)
            start = match.end()
        _add(text, start, span_end, sentences)
    return sentences


def _line_ends_sentence(text: str, start: int, at: int, after: int, end: int) -> bool:
    """Does the line break ``text[at:after]`` end a sentence (not a hard wrap)?

    Reports are stored hard-wrapped, in upper case, as numbered lists, without final
    periods. A break ends a sentence at a blank line, before a list item, or after a colon;
    it does not where the line ends on a word that needs what follows (``no``, ``of``,
    ``left``: ``wrap_end`` in ``clause_words.tsv``) or the next line goes on (``and``,
    ``or``: ``wrap_start``; or a lower-case word after a line of 30 characters or more).
    Otherwise a capital after a mixed-case line starts a sentence; in upper-case text a long
    line is a wrapped one.
    """
    line_end = text.find("\n", after, end)
    following = text[after:end if line_end < 0 else line_end]
    previous = text[text.rfind("\n", start, at) + 1:at]
    if text.count("\n", at, after) > 1 or _LIST_ITEM.match(following) or \
            previous.rstrip().endswith(":"):
        return True
    words = _wrap_words()
    tail = previous.split()
    last = tail[-1].strip(_PUNCT).lower() if tail else ""
    first = _FIRST_WORD_OF_LINE.match(following)
    if previous.rstrip().endswith((",", "-", "/")) or last in words["wrap_end"] or \
            (first and first.group().lower() in words["wrap_start"]) or \
            (following[:1].islower() and len(previous.strip()) >= LIST_LINE_CHARS):
        return False
    if not previous.isupper():
        return True
    return len(previous.strip()) < WRAP_CHARS


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



class ClauseSplitter:
    """Split a sentence into clauses: a negation or hedge governs its own clause only.

    A clause ends before a ``contrast`` word (``but``, ``however``, ...), and at a comma
    whose next phrase starts a clause of its own: it opens with a negation or hedge
    (``cue``: "cardiomegaly, no edema"), or with its own modifier (``opener``: "no
    pneumothorax, small left effusion") or states something (``status``: "no acute process,
    cardiomegaly is unchanged") while the list does not go on with ``or`` / ``nor`` ("no
    consolidation, large effusion, or pneumothorax" is one negated list). The words are a
    data file, ``clause_words.tsv`` (word, kind, comment).

    Parameters
    ----------
    words:
        ``{kind: set of lower-case words}`` for the kinds ``contrast``, ``cue``, ``opener``,
        ``status``; default: the shipped file.
    """

    KINDS = ("contrast", "cue", "opener", "status", "keep_after", "relative", "wrap_end",
             "wrap_start")

    def __init__(self, words: dict[str, set[str]] | None = None):
        words = words if words is not None else read_clause_words(data_file(CLAUSE_WORDS))
        self.cues = frozenset(words.get("cue", ()))
        self.openers = frozenset(words.get("opener", ()))
        self.keep_after = frozenset(words.get("keep_after", ()))
        self.relative = frozenset(words.get("relative", ()))
        contrast = "|".join(sorted(map(re.escape, words.get("contrast", ())))) or "(?!)"
        status = "|".join(sorted(map(re.escape, words.get("status", ())))) or "(?!)"
        self._contrast = re.compile(rf",?\s+(?=(?:{contrast})\b)|(?<=,)\s*(?=(?:{contrast})\b)",
                                    re.IGNORECASE)
        self._status = re.compile(rf"\b(?:{status})\b", re.IGNORECASE)

    def split(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Clauses ``(start, end)`` of the sentence ``text[start:end]``, in order."""
        cuts = [m.start() for m in self._contrast.finditer(text, start, end) if m.start() > start]
        cuts += [m.end() for m in _COMMA.finditer(text, start, end)
                 if self._opens_clause(text, m.end(), end)
                 and not self._introduces(text, start, m.start())]
        bounds, out = sorted(set(cuts)), []
        for left, right in zip([start, *bounds], [*bounds, end], strict=True):
            chunk = text[left:right]
            lead = len(chunk) - len(chunk.lstrip(" ,"))
            stripped = chunk.strip(" ,")
            if stripped:
                out.append((left + lead, left + lead + len(stripped)))
        return out

    def _introduces(self, text: str, start: int, comma: int) -> bool:
        """Does the phrase before the comma at ``comma`` introduce what follows (its last
        word is a ``keep_after`` word: "In the appropriate clinical setting, ...")?"""
        words = text[max(start, comma - 40):comma].split()
        return bool(words) and words[-1].strip(_PUNCT).lower() in self.keep_after

    def _opens_clause(self, text: str, at: int, end: int) -> bool:
        """Does the phrase after the comma at ``at`` start a clause of its own?"""
        word = _FIRST_WORD.match(text, at, end)
        if word is None:
            return False
        first = word.group().lower()
        if first in self.relative:  # ", which has resolved" speaks of the phrase before
            return False
        last_item = _DENIED_LAST_ITEM.match(text, at, end)
        if last_item and (last_item.group(1) or last_item.group(2)).lower() not in \
                self.openers | self.cues:
            return False  # "A, B, and C are not seen": the whole list is the subject
        if first in self.cues:
            return True
        phrases = text[at:end].split(",")
        opener = first.split("-")[0] in self.openers or first.isdigit()  # "moderate-sized"
        if not opener and not self._status.search(phrases[0]):
            return False
        # a list that goes on with "or"/"nor" after this phrase is one negated or hedged list
        return not _OR.search(phrases[0]) and \
            not any(_LIST_END.match(" " + part.lstrip()) for part in phrases[1:])


def read_clause_words(path: Path) -> dict[str, set[str]]:
    """``{kind: words}`` from a clause-words TSV (``word, kind, comment``)."""
    words: dict[str, set[str]] = {}
    for row in read_tsv(path):
        kind = (row.get("kind") or "").strip()
        if kind not in ClauseSplitter.KINDS or not (row.get("word") or "").strip():
            raise ChestxError(f"{path}: bad clause-word line {row}")
        words.setdefault(kind, set()).add(row["word"].strip().lower())
    return words


_SPLITTER: ClauseSplitter | None = None
_WRAP: dict[str, frozenset[str]] = {}


def _wrap_words() -> dict[str, frozenset[str]]:
    """The ``wrap_end`` / ``wrap_start`` words of the shipped ``clause_words.tsv`` (read once)."""
    if not _WRAP:
        words = read_clause_words(data_file(CLAUSE_WORDS))
        _WRAP.update({kind: frozenset(words.get(kind, ())) for kind in ("wrap_end", "wrap_start")})
    return _WRAP


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clauses of ``text[start:end]`` with the shipped clause words (:class:`ClauseSplitter`)."""
    global _SPLITTER
    if _SPLITTER is None:
        _SPLITTER = ClauseSplitter()
    return _SPLITTER.split(text, start, end)
