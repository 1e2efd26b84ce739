"""Lexical scope: what a negation, a request or a hedge reaches across a list of findings.

The dependency rules (:mod:`chestx.reports.rules`) judge each finding from the parse. The
small parser attaches long or unpunctuated lists wrongly ("No focal airspace consolidation
large pleural effusion or pneumothorax", "large pleural effusion/pneumothorax"), and reads
"A or B" inside a negated list as a differential. Here the words between items decide:

* a **cue** (``scope_rules.tsv``: ``no``, ``negative for any``, ``r/o``, ``correlate
  clinically for``, ``X is absent``, ...) governs the findings that follow it (``pre``) or
  precede it (``post``) when only *list material* lies between: other findings, separators
  (``,`` ``/`` ``or`` ``and`` ``nor``, or nothing) and a few modifier words;
* a finding governed by a negation or hedge hands its status on to the next item of its
  list (rule id suffixed ``+list``).

What a governor may override: a negation overrides a finding the rules left positive or
hedged (a differential or hedge never fires on findings a negation governs); a request or
hedge only overrides a finding left positive or read as a differential; an exception
("except for X", "other than X") only lifts a negation. Constructions the
rules recognised on purpose (``pre.*``: "no change in X") and negations are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from chestx.errors import ChestxError
from chestx.reports.rules import NEGATIVE, POSITIVE, STATUS_NAMES, UNCERTAIN
from chestx.reports.vocabulary import data_file, read_tsv

#: Words that end a list: verbs, prepositions, clause words. A gap holding one of them is
#: no list gap ("no change in the effusion", "no pneumothorax is seen with small effusion").
STOP = frozenset("""
is are was were be been being has have had with but however though although whereas which
that there in at on of to from by into within over under than as may might could would
should can will seen noted identified present demonstrated appreciated shown suggest
suggests suggesting represent represents representing reflect reflects concerning concern
consistent compatible likely unlikely possible probable possibly probably versus vs since
after before change changes changed interval increase increased decrease decreased
improved improving worsened worsening resolved resolving this these it its except besides
other otherwise also again remains remain persists persist stable unchanged seen
developing due secondary given status post
""".split())
#: Separators between list items.
SEPARATORS = frozenset({",", "/", "&", "or", "and", "nor", "and/or"})
#: Modifier words allowed between two items (or a cue and its first item).
MAX_MODIFIERS = 4
#: After "and", a size or degree word opens a new statement ("no effusion and mild
#: cardiomegaly"): the list ends there ("or" lists go on: "no X or large Y").
OPENERS = frozenset("""
small large moderate moderately mild mildly minimal minor trace tiny massive marked markedly
severe slight slightly subtle borderline persistent chronic stable unchanged residual known
""".split())
#: A cue starts and ends at a word edge ("r/o" and "x-ray" are words).
_WORD_START, _WORD_END = r"(?<![\w/-])", r"(?![\w/-])"
_TOKEN = re.compile(r"and/or|[a-z][a-z'-]*|\d+(?:\.\d+)?|[,/&]|[^\s\w]", re.IGNORECASE)


#: ``pre``: the cue governs the list that follows it; ``post``: the list before it;
#: ``clause``: every finding after it in its clause ("in the appropriate clinical setting");
#: ``bridge``: standing between two findings, hands the first one's negation on to the
#: second ("no focal opacity to suggest pneumonia").
DIRECTIONS = ("pre", "post", "clause", "bridge")


@dataclass(frozen=True)
class Cue:
    """One line of ``scope_rules.tsv``: a cue that governs the findings of its list."""

    id: str
    status: int
    direction: str  # one of DIRECTIONS
    regex: re.Pattern
    comment: str = ""
    example: str = ""


def load_cues(path: str | Path) -> list[Cue]:
    """Read a scope-rule TSV (``id, status, direction, cue, comment, example``)."""
    cues = []
    for row in read_tsv(Path(path)):
        try:
            status = STATUS_NAMES[(row.get("status") or "").strip()]
            direction = (row.get("direction") or "").strip()
            if direction not in DIRECTIONS:
                raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, "
                                 f"not {direction!r}")
            cue = row["cue"].strip()
            # a word cue starts and ends at word edges; a sign ("?") stands anywhere
            word = cue[:1].isalnum() or cue[:1] == "("  # not a sign such as "\?" or ":"
            regex = re.compile(rf"{_WORD_START}(?:{cue}){_WORD_END}" if word else cue,
                               re.IGNORECASE)
        except (KeyError, ValueError, re.error, AttributeError) as exc:
            raise ChestxError(f"{path}: bad scope rule line {row}: {exc}") from exc
        cues.append(Cue(row["id"].strip(), status, direction, regex,
                        (row.get("comment") or "").strip(), (row.get("example") or "").strip()))
    return cues


def is_list_gap(gap: str, forward: bool = True) -> bool:
    """Is ``gap`` (text between a cue and a finding, or between two findings) list material:
    separators, or nothing, and at most a few modifier words? ``forward``: read left to
    right, where "and" + a size or degree word opens a new statement; a post cue reads back
    ("cardiomegaly and small effusions are absent": one list)."""
    modifiers, previous = 0, ""
    for token in _TOKEN.findall(gap.lower()):
        if token in SEPARATORS:
            previous = token
            continue
        if token in STOP or not (token[0].isalpha() or token[0].isdigit()):
            return False
        if forward and previous == "and" and token in OPENERS:
            return False
        modifiers += 1
        if modifiers > MAX_MODIFIERS:
            return False
        previous = token
    return True


class Scope:
    """Apply the shipped (or given) cues and list chaining to one clause's statuses."""

    def __init__(self, cues: list[Cue] | None = None):
        self.cues = cues if cues is not None else load_cues(data_file("scope_rules.tsv"))
        # a few passes, not one per cue: the word cues of a direction joined in file order
        # (at one position the first cue that matches wins: the file lists "no evidence of"
        # before "no"), with the word-edge test once, outside the alternation (most
        # positions fail it at once); sign cues ("?") in a pass of their own
        self._passes = [regex for d in ("pre", "post", "clause") for word in (True, False)
                        if (regex := self._joined(d, word)) is not None]
        self._bridges = [cue for cue in self.cues if cue.direction == "bridge"]

    def _joined(self, direction: str, word: bool) -> re.Pattern | None:
        cues = [(i, c) for i, c in enumerate(self.cues)
                if c.direction == direction and _is_word_cue(c) == word]
        if not cues:
            return None
        if not word:
            return re.compile("|".join(f"(?P<c{i}>{c.regex.pattern})" for i, c in cues),
                              re.IGNORECASE)
        joined = "|".join(f"(?P<c{i}>{_bare(c.regex.pattern)})" for i, c in cues)
        return re.compile(rf"{_WORD_START}(?:{joined}){_WORD_END}", re.IGNORECASE)

    def _hits(self, clause: str) -> list[tuple[int, int, Cue]]:
        return [(m.start(), m.end(), self.cues[int(m.lastgroup[1:])])
                for regex in self._passes if regex is not None for m in regex.finditer(clause)]

    def apply(self, clause: str, matches, statuses: list[tuple[int, str]]
              ) -> list[tuple[int, str]]:
        """Statuses of ``matches`` (offsets in ``clause``) after the cues and list chaining."""
        out = list(statuses)
        hits = self._hits(clause)
        hits = [h for h in hits if not any(m.start < h[1] and h[0] < m.end for m in matches)]
        pre = sorted((h for h in hits if h[2].direction == "pre"), key=lambda h: (h[1], h[0]))
        for i, match in enumerate(matches):
            previous_end = matches[i - 1].end if i else 0
            cue = next((h for h in reversed(pre) if previous_end <= h[0] and h[1] <= match.start
                        and is_list_gap(clause[h[1]:match.start])), None)
            if cue is not None:
                out[i] = _govern(out[i], cue[2].status, cue[2].id)
            elif i and out[i - 1][0] == NEGATIVE and (bridge := self._bridge(
                    clause[previous_end:match.start])) is not None:
                out[i] = _govern(out[i], bridge.status, bridge.id)
            elif _new_statement(clause[previous_end:match.start], out[i]):
                out[i] = (POSITIVE, "")  # "no acute disease and stable cardiomegaly"
            elif i and is_list_gap(clause[previous_end:match.start]):
                prev_status, prev_rule = out[i - 1]
                # a negation or hedge goes on along the list, and so does an exception
                handed = prev_status != POSITIVE or prev_rule.startswith("scope.")
                if prev_rule and handed and not prev_rule.startswith("pre."):
                    out[i] = _govern(out[i], prev_status, prev_rule.removesuffix("+list")
                                     + "+list")
        for start, end, cue in hits:
            if cue.direction == "post":
                self._post(clause, matches, out, start, cue)
            elif cue.direction == "clause":
                for i in (i for i, m in enumerate(matches) if m.start >= end):
                    out[i] = _govern(out[i], cue.status, cue.id)
        return out

    def _bridge(self, gap: str) -> Cue | None:
        """The bridge cue that fills ``gap`` (list material around it allowed), if any."""
        for cue in self._bridges:
            found = cue.regex.search(gap)
            if found and is_list_gap(gap[:found.start()]) and is_list_gap(gap[found.end():]):
                return cue
        return None

    @staticmethod
    def _post(clause: str, matches, out: list[tuple[int, str]], start: int, cue: Cue) -> None:
        """A post cue ("X and Y are absent") governs the list that ends right before it."""
        edge = start
        for i in range(len(matches) - 1, -1, -1):
            if matches[i].end > edge:
                continue
            if not is_list_gap(clause[matches[i].end:edge], forward=False):
                return
            out[i] = _govern(out[i], cue.status, cue.id)
            edge = matches[i].start


#: The last "and" / "with" before a finding, and the words after it.
_JOINER = re.compile(r"\b(?:and|with)\s+((?:(?!\b(?:and|with)\b).)*)$", re.IGNORECASE | re.DOTALL)


def _new_statement(before: str, current: tuple[int, str]) -> bool:
    """Did the parser hand a negation on across "and" or "with" and a size or degree word
    ("no acute disease and stable cardiomegaly", "no cardiomegaly with bilateral small
    pleural effusions")? There a new, positive statement begins: a denied finding has no
    size. ``before``: the text between the previous finding (or the clause start) and
    this one."""
    match = _JOINER.search(before)
    if not match or current[0] != NEGATIVE or not current[1].startswith("neg."):
        return False
    opener = next((w for w in _TOKEN.finditer(match.group(1)) if w.group().lower() in OPENERS),
                  None)
    return opener is not None and is_list_gap(match.group(1)[opener.end():], forward=False)


def _is_word_cue(cue: Cue) -> bool:
    return cue.regex.pattern.startswith(_WORD_START)


def _bare(pattern: str) -> str:
    """A cue's own pattern, without the word edges :func:`load_cues` put around it."""
    return pattern[len(_WORD_START) + 3:-len(_WORD_END) - 1]


def _govern(current: tuple[int, str], status: int, rule: str) -> tuple[int, str]:
    """The status of a finding a governor reaches (see the module docstring). A positive
    governor (an exception: "no abnormality except for X") lifts only a negation."""
    old_status, old_rule = current
    if old_rule.startswith("pre."):
        return current
    if status == POSITIVE:
        lifted = old_status == NEGATIVE or (old_status == POSITIVE and not old_rule)
        return (POSITIVE, rule) if lifted else current
    if old_status == NEGATIVE:
        return current
    if status == NEGATIVE:
        return (NEGATIVE, rule)
    if status == UNCERTAIN and (not old_rule or old_rule.startswith("diff.")):
        return (UNCERTAIN, rule)
    return current
