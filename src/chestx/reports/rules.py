"""Negation and uncertainty rules on the dependency graph (paper Table 6, for spaCy labels).

A rule file has one rule a line: ``id, pattern, comment, example`` (tab-separated).
A pattern is a path that starts at the finding (``DISEASE``) and walks the parse:

* ``<DEP WORD`` — go from the current token to its head; the current token's dependency
  label must be in ``DEP`` and the head's lower-cased text in ``WORD``;
* ``<**`` — go up any number (0 or more) of heads; ``<** WORD`` — up to one whose text
  is in ``WORD``;
* ``>DEP WORD`` — go down to a child with that label and text;
* ``[DEP:WORD]`` — the current token has a child with that label and text.

``DEP`` and ``WORD`` are ``|``-separated alternatives; ``*`` matches anything and
``word*`` any word starting with ``word``. Examples::

    DISEASE [det:no]                              No effusion.
    DISEASE <pobj of <prep clear|free             Clear of focal airspace disease.
    DISEASE <dobj exclude [aux:can|could] [neg:*] Cannot exclude pneumonia.

Before a rule is tried, the finding climbs its coordination and modifier chain
(``conj``, ``appos``, ``compound``, ``amod``, ``nmod``), as Stanford's "CCProcessed"
dependencies do: "no effusion, pneumothorax or consolidation" negates all three. The parse
is of one clause (``sentences.ClauseSplitter``), so climbing and ``<**`` stop at the clause's
edge: "no pneumothorax, small left effusion" leaves the effusion alone.

Rule files: ``pre_negation_rules.tsv``, ``negation_rules.tsv``, ``uncertainty_rules.tsv``
(tried in that order, first hit wins); ``openi_rules.tsv`` replaces rules by id under the
OpenI coding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from chestx.errors import ChestxError
from chestx.reports.vocabulary import DEFAULT_CODING, data_file, read_tsv

NEGATIVE, UNCERTAIN, POSITIVE = 0, -1, 1

#: Distinct sets of rule words whose applicable rules a RuleSet remembers.
APPLICABLE_MEMO = 4096
#: Labels a finding climbs before rules are tried (coordination and noun-phrase modifiers).
CLIMB = frozenset({"conj", "appos", "compound", "amod", "nmod", "preconj"})


@dataclass(frozen=True)
class WordSet:
    """A ``|``-separated set of words (``*`` any, ``word*`` prefix)."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    any: bool

    @classmethod
    def parse(cls, spec: str) -> WordSet:
        parts = [p for p in spec.lower().split("|") if p]
        if "*" in parts:
            return cls(frozenset(), (), True)
        return cls(frozenset(p for p in parts if not p.endswith("*")),
                   tuple(p[:-1] for p in parts if p.endswith("*")), False)

    def __contains__(self, word: str) -> bool:
        return self.any or word in self.words or word.startswith(self.prefixes)


@dataclass(frozen=True)
class Step:
    """``up``: climb to head (``dep`` of current, ``word`` of head); ``any_up``: ``<**``
    (``word``: the ancestor reached must be that word); ``down``: go to a child;
    ``child``: the current token has a child with ``dep``/``word``."""

    kind: str
    dep: WordSet | None = None
    word: WordSet | None = None


@dataclass(frozen=True)
class Rule:
    """One line of a rule file."""

    id: str
    status: int
    pattern: str
    comment: str = ""
    example: str = ""
    steps: tuple[Step, ...] = field(default=(), compare=False)

    def literal_words(self) -> list[WordSet]:
        """Word sets the sentence must contain for the rule to fire (for the parse skip)."""
        return [s.word for s in self.steps if s.word is not None and not s.word.any]


def parse_pattern(pattern: str) -> tuple[Step, ...]:
    """Parse a rule pattern (see the module docstring) into steps."""
    tokens = pattern.split()
    if tokens and tokens[0] == "DISEASE":
        tokens = tokens[1:]
    steps, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "<**":
            word = None  # "<** WORD": stop at an ancestor (or self) whose text is WORD
            if i + 1 < len(tokens) and not tokens[i + 1].startswith(("<", "[")):
                word, i = WordSet.parse(tokens[i + 1]), i + 1
            steps.append(Step("any_up", word=word))
            i += 1
        elif tok.startswith(("<", ">")) and i + 1 < len(tokens):
            kind = "up" if tok[0] == "<" else "down"
            steps.append(Step(kind, WordSet.parse(tok[1:]), WordSet.parse(tokens[i + 1])))
            i += 2
        elif re.fullmatch(r"\[[^:\]]+:[^\]]+\]", tok):
            dep, word = tok[1:-1].split(":")
            steps.append(Step("child", WordSet.parse(dep), WordSet.parse(word)))
            i += 1
        else:
            raise ValueError(f"cannot read {tok!r} in rule pattern {pattern!r}")
    if not steps:
        raise ValueError(f"empty rule pattern {pattern!r}")
    return tuple(steps)


STATUS_NAMES = {"positive": POSITIVE, "negative": NEGATIVE, "uncertain": UNCERTAIN}


def load_rules(path: str | Path, status: int) -> list[Rule]:
    """Read a rule TSV (``id, [status,] pattern, comment, example``).

    ``status`` is the default for files without a status column. Every rule must name at
    least one literal word (so that sentences without it can skip the parser).
    """
    rules = []
    for row in read_tsv(Path(path)):
        try:
            steps = parse_pattern(row["pattern"] or "")
            row_status = STATUS_NAMES[row["status"].strip()] if row.get("status") else status
        except (ValueError, KeyError) as exc:
            raise ChestxError(f"{path}: bad rule line {row}: {exc}") from exc
        if not any(s.word is not None and not s.word.any for s in steps):
            raise ChestxError(f"{path}: rule {row['id']} names no literal word")
        rules.append(Rule(row["id"].strip(), row_status, row["pattern"].strip(),
                          (row.get("comment") or "").strip(), (row.get("example") or "").strip(),
                          steps))
    return rules


def _text(token) -> str:
    return token.lower_


def match_steps(token, steps: tuple[Step, ...], max_up: int = 6) -> bool:
    """Does the path ``steps`` match starting at spaCy ``token``?"""
    if not steps:
        return True
    step, rest = steps[0], steps[1:]
    if step.kind == "child":
        return any(_text(c) in step.word and c.dep_.lower() in step.dep for c in token.children) \
            and match_steps(token, rest, max_up)
    if step.kind == "down":
        return any(c.dep_.lower() in step.dep and _text(c) in step.word
                   and match_steps(c, rest, max_up) for c in token.children)
    if step.kind == "up":
        head = token.head
        if head is token or token.dep_.lower() not in step.dep or _text(head) not in step.word:
            return False
        return match_steps(head, rest, max_up)
    # any_up: try here, then each ancestor (bounded, parses of long sentences are deep)
    current = token
    for _ in range(max_up + 1):
        if (step.word is None or _text(current) in step.word) and \
                match_steps(current, rest, max_up):
            return True
        if current.head is current:
            return False
        current = current.head
    return False


def _meets(words: WordSet, present: set[str]) -> bool:
    if not words.words.isdisjoint(present):
        return True
    return bool(words.prefixes) and any(w.startswith(words.prefixes) for w in present)


def anchors(token) -> list:
    """The finding token and the heads it climbs through (see :data:`CLIMB`)."""
    out = [token]
    while token.dep_ in CLIMB and token.head is not token and len(out) < 8:
        token = token.head
        out.append(token)
    return out


class RuleSet:
    """Ordered rules: pre-negation (uncertain/positive), negation, uncertainty; first hit wins.

    ``cannot exclude X`` must be uncertain before the negation rules see its ``not``.
    """

    def __init__(self, pre_negation: list[Rule], negation: list[Rule],
                 uncertainty: list[Rule]):
        self.rules = [*pre_negation, *negation, *uncertainty]
        self._needs = [r.literal_words() for r in self.rules]
        self._vocabulary = frozenset().union(*(ws.words for n in self._needs for ws in n))
        self._prefixes = tuple(p for n in self._needs for ws in n for p in ws.prefixes)
        # clauses share few distinct sets of rule words ({"no"}, {"no", "or"}, ...): the
        # rules a set allows are remembered (bounded, the sets are small)
        self._applicable: dict[frozenset[str], list[Rule]] = {}

    @classmethod
    def default(cls, coding: str = DEFAULT_CODING) -> RuleSet:
        """The rules shipped with chestx; ``coding="openi"`` replaces the rules named in
        ``openi_rules.tsv`` by its lines (OpenI's annotators code both findings of a
        differential as present)."""
        groups = [load_rules(data_file("pre_negation_rules.tsv"), UNCERTAIN),
                  load_rules(data_file("negation_rules.tsv"), NEGATIVE),
                  load_rules(data_file("uncertainty_rules.tsv"), UNCERTAIN)]
        if coding == "openi":
            override = {r.id: r for r in load_rules(data_file("openi_rules.tsv"), POSITIVE)}
            groups = [[override.get(r.id, r) for r in group] for group in groups]
        return cls(*groups)

    def applicable(self, words: set[str]) -> list[Rule]:
        """The rules that can fire on a sentence made of ``words`` (lower-cased), in order.

        A rule needs a word of each of its literal word sets. A sentence where no rule can
        fire is all-positive and needs no parse (the labeler's main speed-up); where some
        can, only those are tried on the parse.
        """
        present = words & self._vocabulary
        present |= {w for w in words if self._prefixes and w.startswith(self._prefixes)}
        if not present:
            return []
        key = frozenset(present)
        found = self._applicable.get(key)
        if found is None:
            found = [rule for rule, needs in zip(self.rules, self._needs, strict=True)
                     if all(_meets(ws, present) for ws in needs)]
            if len(self._applicable) >= APPLICABLE_MEMO:
                self._applicable.clear()
            self._applicable[key] = found
        return list(found)

    def could_fire(self, words: set[str]) -> bool:
        """Can any rule fire on a sentence made of ``words``? (see :meth:`applicable`)"""
        return bool(self.applicable(words))

    def status(self, token, rules: list[Rule] | None = None) -> tuple[int, str]:
        """``(status, rule id)`` of a finding whose head token is ``token``; positive if none.

        ``rules``: the subset to try (default all), e.g. from :meth:`applicable`.
        """
        chain = anchors(token)
        for rule in self.rules if rules is None else rules:
            for anchor in chain:
                if match_steps(anchor, rule.steps):
                    return rule.status, rule.id
        return POSITIVE, ""
