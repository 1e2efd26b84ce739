"""Concept detection: match finding synonyms in a sentence (longest match wins).

The vocabularies are data files beside this module:

* ``findings_vocab.tsv`` — the 14 findings: ``finding, pattern, cui, comment``; a finding of
  ``-`` is an exclusion (``mass effect`` is not a Mass): it matches, wins by length, and yields
  no mention.
* ``other_findings.tsv`` — other abnormal findings (granuloma, scarring, opacity, ...) used by
  the Normal rule: ``finding, pattern, counts, comment``; ``counts=no`` records the mention
  as evidence but does not make the report abnormal (support devices are not diseases);
  ``counts=openi`` does so only under the OpenI coding (see below).
* ``findings_vocab.tsv`` lines may carry ``id``, ``status`` and ``example``: a finding
  named by its sign ("blunting of the costophrenic angle": Effusion). ``status=uncertain``
  marks a sign that suggests the finding without proving it (hyperinflation: Emphysema);
  a positive mention of it is uncertain (rule id: the line's id); ``status=negative``
  marks a phrase that denies the finding itself ("the heart is not enlarged"): 0.
* ``openi_findings_vocab.tsv`` and ``openi_other_findings.tsv`` — read only under the OpenI
  coding (``coding="openi"``), an
  explicit compatibility option that reproduces how OpenI's annotators code reports: any
  thickening (bronchial wall thickening too) is Pleural_Thickening, a support device makes a
  report abnormal. Its terms come first, so they win ties with the shipped ones.

Patterns are regular expressions over lower-cased text; word boundaries are added.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from pathlib import Path

from chestx.errors import ChestxError
from chestx.findings import FINDINGS

EXCLUDE = "-"
#: Codings: ``paper`` (§2.1 as written) and ``openi`` (as OpenI's annotators code reports).
CODINGS = ("paper", "openi")
#: The coding used unless one is asked for.
DEFAULT_CODING = "paper"
#: Values of the ``counts`` column of ``other_findings.tsv``.
COUNTS = ("yes", "no", "openi")


@dataclass(frozen=True)
class Term:
    """One vocabulary line: a pattern naming a finding."""

    finding: str
    pattern: str
    kind: str  # "finding" (one of the 14), "other" (abnormal, not among the 14), "exclude"
    cui: str = ""
    counts: bool = True  # for "other": does a positive mention make the report abnormal?
    id: str = ""  # named lines (signs): the id evidence and tests refer to
    hedged: bool = False  # a sign that suggests the finding: a positive mention is uncertain
    example: str = ""
    denied: bool = False  # the phrase itself denies the finding ("heart is not enlarged")


@dataclass(frozen=True)
class Match:
    """A vocabulary hit in a sentence; ``start``/``end`` are character offsets in it."""

    finding: str
    kind: str
    start: int
    end: int
    text: str
    counts: bool = True
    term: str = ""  # the id of the vocabulary line (named lines only)
    hedged: bool = False  # see Term.hedged
    denied: bool = False  # see Term.denied


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_terms(path: str | Path, kind: str, coding: str = DEFAULT_CODING) -> list[Term]:
    """Read a vocabulary TSV (see the module docstring) into :class:`Term` objects.

    ``coding`` decides the ``counts=openi`` lines (abnormal under ``openi`` only).
    """
    terms = []
    for row in read_tsv(Path(path)):
        finding, pattern = row.get("finding", "").strip(), row.get("pattern", "").strip()
        if not finding or not pattern:
            raise ChestxError(f"{path}: vocabulary line without finding or pattern: {row}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ChestxError(f"{path}: bad pattern {pattern!r}: {exc}") from exc
        if finding == EXCLUDE:
            term_kind = "exclude"
        elif kind == "finding":
            if finding not in FINDINGS:
                raise ChestxError(f"{path}: {finding!r} is not one of the 14 findings")
            term_kind = "finding"
        else:
            term_kind = "other"
        value = (row.get("counts") or "yes").strip().lower()
        if value not in COUNTS:
            raise ChestxError(f"{path}: counts must be one of {', '.join(COUNTS)}: {row}")
        counts = value == "yes" or (value == "openi" and coding == "openi")
        status = (row.get("status") or "").strip().lower()
        if status not in ("", "uncertain", "negative"):
            raise ChestxError(f"{path}: status must be empty, uncertain or negative: {row}")
        terms.append(Term(finding, pattern, term_kind, (row.get("cui") or "").strip(), counts,
                          (row.get("id") or "").strip(), status == "uncertain",
                          (row.get("example") or "").strip(), status == "negative"))
    return terms


def data_file(name: str) -> Path:
    return Path(str(resources.files("chestx.reports") / name))


class Vocabulary:
    """Terms compiled one regex each; :meth:`find` returns non-overlapping longest matches.

    Each pattern is searched on its own (a literal-prefixed pattern is a fast scan, where one
    big alternation is not); overlapping hits are resolved longest first, so
    ``pleural effusion`` beats ``effusion`` and the exclusion ``mass effect`` beats ``mass``.
    """

    def __init__(self, terms: list[Term]):
        self.terms = list(terms)
        # one regex per top-level alternative: most then start with a literal, which the
        # regex engine finds by a fast scan (an alternation is tried at every position)
        self._regexes = [(i, re.compile(rf"(?:{alt})(?!\w)"))
                         for i, t in enumerate(self.terms) for alt in _expand(t.pattern)]
        # index the regexes by the first 3 letters they need: a report only runs those
        # whose key starts one of its words (most reports touch a few dozen of ~300)
        self._always: list[tuple[int, re.Pattern]] = []
        self._keyed: dict[str, list[tuple[int, re.Pattern]]] = {}
        for index, regex in self._regexes:
            lead = re.match(r"[a-z]*", regex.pattern[3:]).group()  # after "(?:"
            if len(lead) >= 3:
                self._keyed.setdefault(lead[:3], []).append((index, regex))
            else:
                self._always.append((index, regex))

    @classmethod
    def default(cls, coding: str = DEFAULT_CODING) -> Vocabulary:
        """The vocabulary shipped with chestx (``findings_vocab.tsv`` + ``other_findings.tsv``;
        ``coding="openi"`` puts ``openi_findings_vocab.tsv`` first)."""
        if coding not in CODINGS:
            raise ChestxError(f"coding must be one of {', '.join(CODINGS)}, not {coding!r}")
        extra = (load_terms(data_file("openi_other_findings.tsv"), "other", coding)
                 + load_terms(data_file("openi_findings_vocab.tsv"), "finding")
                 if coding == "openi" else [])
        return cls(extra + load_terms(data_file("findings_vocab.tsv"), "finding")
                   + load_terms(data_file("other_findings.tsv"), "other", coding))

    def find(self, sentence: str) -> list[Match]:
        """Mentions in ``sentence`` (exclusions removed), in text order."""
        # hard-wrapped text: "pleural\neffusion" is "pleural effusion" (same offsets)
        lowered = sentence.lower().replace("\n", " ").replace("\t", " ").replace("\r", " ")
        keys = {w[:3] for w in _LETTERS.findall(lowered)} & self._keyed.keys()
        hits = []
        for index, regex in chain(self._always, *(self._keyed[k] for k in keys)):
            for hit in regex.finditer(lowered):
                start = hit.start()
                if hit.end() > start and (start == 0 or not _WORDISH(lowered[start - 1])):
                    hits.append((start, -hit.end(), index))
        hits.sort()
        matches, taken_until = [], -1
        for start, neg_end, index in hits:  # longest first at each start; no overlaps
            if start < taken_until:
                continue
            taken_until = -neg_end
            term = self.terms[index]
            if term.kind != "exclude":
                matches.append(Match(term.finding, term.kind, start, -neg_end,
                                     sentence[start:-neg_end], term.counts, term.id,
                                     term.hedged, term.denied))
        return matches


_LETTERS = re.compile(r"[a-z]{3,}")


def _scan(pattern: str) -> Iterator[tuple[int, str, int]]:
    """``(index, char, group depth)`` of each character outside escapes and ``[...]`` classes
    (the depth after an opening and after a closing parenthesis)."""
    depth, escaped, in_class = 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        else:
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth


def _alternatives(pattern: str) -> list[str]:
    """Split ``a|b(c|d)|e`` at its top-level bars: ``["a", "b(c|d)", "e"]``."""
    cuts = [i for i, ch, depth in _scan(pattern) if ch == "|" and depth == 0]
    bounds = zip([-1] + cuts, cuts + [len(pattern)], strict=True)
    return [pattern[start + 1:end] for start, end in bounds]


def _expand(pattern: str, depth: int = 0) -> list[str]:
    """Equivalent patterns that start with a literal where possible.

    ``(a|b)?c|d`` -> ``["ac", "bc", "c", "d"]``: top-level alternatives are split and a
    leading group (optional or not) is distributed over the rest, a few levels deep.
    """
    out = []
    for alt in _alternatives(pattern):
        close = _group_end(alt) if alt.startswith("(") and depth < 3 else -1
        if close < 0:
            out.append(alt)
            continue
        optional = alt[close + 1:close + 2] == "?"
        rest = alt[close + 2:] if optional else alt[close + 1:]
        if rest.startswith(("?", "*", "+", "{")):  # "(ab)??" etc.: leave it alone
            out.append(alt)
            continue
        inner = alt[1:close]
        if inner.startswith("?"):  # (?:...), lookarounds
            out.append(alt)
            continue
        out += [x for part in _alternatives(inner) for x in _expand(part + rest, depth + 1)]
        if optional and rest:
            out += _expand(rest, depth + 1)
    return [alt for alt in out if alt]


def _group_end(pattern: str) -> int:
    """Index of the ``)`` closing the group opened at ``pattern[0]`` (-1 if none)."""
    return next((i for i, ch, depth in _scan(pattern) if ch == ")" and depth == 0), -1)


def _WORDISH(ch: str) -> bool:  # noqa: N802 -- a character that glues words together
    return ch.isalnum() or ch in "_-"
