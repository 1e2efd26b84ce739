"""Report sections: keep FINDINGS and IMPRESSION (paper §2.1), else the whole report.

Headers vary between institutions: ``FINDINGS:``, ``Findings``, ``IMPRESSION:``,
``CONCLUSION``, upper or lower case, inline (``FINDINGS: The lungs ...``) or on their own line.
A header is a known section name followed by a colon, or a known name alone on its line.
"""

from __future__ import annotations

import re

#: Sections the labeler reads (paper §2.1: "Findings" and "Impression").
KEPT = frozenset({"findings", "finding", "impression", "impressions", "conclusion",
                  "conclusions", "opinion", "summary"})

#: Every header we recognise; the ones not in KEPT end a kept section.
HEADERS = KEPT | {"comparison", "comparisons", "indication", "indications", "history",
                  "clinical history", "technique", "examination", "exam", "procedure",
                  "reason for exam", "reason for examination", "clinical information",
                  "clinical indication", "recommendation", "recommendations", "addendum",
                  "notification", "report"}

_NAMES = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in HEADERS),
                         key=len, reverse=True))
# name + colon anywhere after a line start or a sentence end; or a name alone on its line.
_HEADER = re.compile(
    rf"(?:(?<=^)|(?<=\n)|(?<=[.;]\s)|(?<=[.;]))[ \t]*(?P<name>{_NAMES})[ \t]*"
    rf"(?::|(?=[ \t]*(?:\n|$)))",
    re.IGNORECASE,
)


def find_sections(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the text the labeler should read.

    The bodies of the FINDINGS / IMPRESSION (and synonyms) sections, in report order;
    ``[(0, len(text))]`` when the report has neither.
    """
    headers = [(m.start(), m.end(), " ".join(m.group("name").lower().split()))
               for m in _HEADER.finditer(text)]
    spans = []
    for i, (_, body_start, name) in enumerate(headers):
        if name not in KEPT:
            continue
        body_end = headers[i + 1][0] if i + 1 < len(headers) else len(text)
        if text[body_start:body_end].strip():
            spans.append((body_start, body_end))
    if not spans:
        return [(0, len(text))]
    return spans
