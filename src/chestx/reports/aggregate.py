"""Per-report aggregation of mentions into finding labels and the Normal rule.

Cells: ``1`` positive, ``0`` negative, ``-1`` uncertain, ``None`` not mentioned. When a
finding is mentioned more than once with different statuses, positive wins over uncertain,
which wins over negative ("no pneumothorax" in FINDINGS and "small pneumothorax" in
IMPRESSION is a positive report).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chestx.findings import FINDINGS, NO_FINDING
from chestx.reports.rules import NEGATIVE, POSITIVE, UNCERTAIN

#: Higher wins when mentions of one finding disagree.
PRECEDENCE = {POSITIVE: 3, UNCERTAIN: 2, NEGATIVE: 1}


@dataclass(frozen=True)
class Mention:
    """One finding mention: character offsets are in the whole report text."""

    finding: str  # one of the 14, or an other-finding category (``kind == "other"``)
    kind: str  # "finding" or "other"
    text: str
    start: int
    end: int
    sentence: str
    status: int  # 1 positive, 0 negative, -1 uncertain
    rule: str  # id of the rule that fired ("" when none: positive)
    counts: bool = True  # other findings: does it make the report abnormal?
    term: str = ""  # id of the vocabulary line that named it (signs: "sign.*")


@dataclass
class ReportLabels:
    """The labels of one report.

    ``labels``: the 14 findings (NIH spelling) -> 1 / 0 / -1 / None; ``normal``: 1 when no
    disease at all is positive; ``mentions``: the evidence; ``error``: why the report could
    not be read (then every label is None and ``normal`` is None).
    """

    labels: dict[str, int | None]
    normal: int | None
    mentions: list[Mention] = field(default_factory=list)
    error: str = ""

    @property
    def finding_labels(self) -> str:
        """NIH ``Finding Labels``: positives (1) joined by ``|``, or ``No Finding``."""
        positives = [f for f in FINDINGS if self.labels.get(f) == POSITIVE]
        return "|".join(positives) if positives else NO_FINDING

    def vector(self, uncertain_as: int = 0) -> list[int]:
        """Binary vector (len 14, FINDINGS order); uncertain cells become ``uncertain_as``."""
        out = []
        for f in FINDINGS:
            value = self.labels.get(f)
            out.append(1 if value == POSITIVE else (uncertain_as if value == UNCERTAIN else 0))
        return out


def combine(statuses: Iterable[int]) -> int | None:
    """One cell from several mention statuses: positive > uncertain > negative; None if none."""
    best = None
    for status in statuses:
        if best is None or PRECEDENCE[status] > PRECEDENCE[best]:
            best = status
    return best


def aggregate(mentions: list[Mention]) -> ReportLabels:
    """Labels of the 14 findings and the Normal flag from a report's mentions.

    Normal (paper §2.1): 1 when no disease is detected — no positive or uncertain mention
    of one of the 14 or of another disease that counts (``other_findings.tsv``, ``counts``);
    negated findings may remain, and so may mentions that are no disease: support devices
    (tubes, lines, catheters, wires, pacemakers, clips) and the concept "normal size" (an
    upper-normal heart). "May represent pneumonia" is not a normal report.
    """
    labels = {f: combine(m.status for m in mentions if m.kind == "finding" and m.finding == f)
              for f in FINDINGS}
    abnormal = any(m.status in (POSITIVE, UNCERTAIN) and m.counts for m in mentions)
    return ReportLabels(labels=labels, normal=0 if abnormal else 1, mentions=mentions)


def unreadable(error: str) -> ReportLabels:
    """Blank labels for a report that could not be read (kept, never dropped)."""
    return ReportLabels(labels=dict.fromkeys(FINDINGS), normal=None, error=error)
