"""Concept detection: match finding synonyms in a sentence (longest match wins).

The vocabularies are data files beside this module:

* ``findings_vocab.tsv`` — the 14 findings: ``finding, pattern, cui, comment``; a finding of
  ``-`` is an exclusion (``mass effect`` is not a Mass): it matches, wins by length, and yields
  no mention.
* ``other_findings.tsv`` — other abnormal findings (granuloma, scarring, opacity, ...) used by
  the Normal rule: ``finding, pattern, counts, comment``; ``counts=no`` records the mention
  as evidence but does not make the report abnormal.

Patterns are regular expressions over lower-cased text; word boundaries are added.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from chestx.errors import ChestxError
from chestx.findings import FINDINGS

EXCLUDE = "-"


@dataclass(frozen=True)
class Term:
    """One vocabulary line: a pattern naming a finding."""

    finding: str
    pattern: str
    kind: str  # "finding" (one of the 14), "other" (abnormal, not among the 14), "exclude"
    cui: str = ""
    counts: bool = True  # for "other": does a positive mention make the report abnormal?


@dataclass(frozen=True)
class Match:
    """A vocabulary hit in a sentence; ``start``/``end`` are character offsets in it."""

    finding: str
    kind: str
    start: int
    end: int
    text: str
    counts: bool = True


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def load_terms(path: str | Path, kind: str) -> list[Term]:
    """Read a vocabulary TSV (see the module docstring) into :class:`Term` objects."""
    terms = []
    for row in _read_tsv(Path(path)):
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
        counts = (row.get("counts") or "yes").strip().lower() != "no"
        terms.append(Term(finding, pattern, term_kind, (row.get("cui") or "").strip(), counts))
    return terms


def _data_file(name: str) -> Path:
    return Path(str(resources.files("chestx.reports") / name))


class Vocabulary:
    """All terms compiled into one regex; :meth:`find` returns non-overlapping matches.

    Alternatives are ordered by pattern length (longest first), and at each position the
    longest actual match is kept, so ``pleural effusion`` beats ``effusion`` and the
    exclusion ``mass effect`` beats ``mass``.
    """

    def __init__(self, terms: list[Term]):
        self.terms = list(terms)
        order = sorted(range(len(self.terms)), key=lambda i: -len(self.terms[i].pattern))
        alternatives = "|".join(f"(?P<t{i}>{self.terms[i].pattern})" for i in order)
        self._regex = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w])")
        self._singles = [re.compile(rf"(?<![\w-])(?:{t.pattern})(?![\w])") for t in self.terms]

    @classmethod
    def default(cls) -> Vocabulary:
        """The vocabulary shipped with chestx (``findings_vocab.tsv`` + ``other_findings.tsv``)."""
        return cls(load_terms(_data_file("findings_vocab.tsv"), "finding")
                   + load_terms(_data_file("other_findings.tsv"), "other"))

    def find(self, sentence: str) -> list[Match]:
        """Mentions in ``sentence`` (exclusions removed), in text order."""
        lowered = sentence.lower()
        matches = []
        pos = 0
        while True:
            hit = self._regex.search(lowered, pos)
            if hit is None:
                break
            index = int(hit.lastgroup[1:])
            end = hit.end()
            # leftmost-first alternation may pick a shorter alternative: take the longest
            for i, single in enumerate(self._singles):
                longer = single.match(lowered, hit.start())
                if longer and longer.end() > end:
                    index, end = i, longer.end()
            term = self.terms[index]
            if term.kind != "exclude":
                matches.append(Match(term.finding, term.kind, hit.start(), end,
                                     sentence[hit.start():end], term.counts))
            pos = max(end, hit.start() + 1)
        return matches
