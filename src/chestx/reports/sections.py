"""Report sections: keep FINDINGS and IMPRESSION (paper §2.1), else the whole report less
the request (INDICATION, HISTORY, REASON FOR EXAM, ...): a request names what to look for,
not what was found, so a report with only an indication yields no findings.

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
                  "notification", "report", "reason for study", "clinical data", "hx",
                  "clinical notes", "indication for exam", "indication for examination"}
#: Sections never read: the request and what the image was compared with.
REQUEST = frozenset({"indication", "indications", "history", "clinical history",
                     "reason for exam", "reason for examination", "reason for study",
                     "clinical information", "clinical indication", "clinical data", "hx",
                     "clinical notes", "indication for exam", "indication for examination",
                     "comparison", "comparisons", "technique"})

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

    The bodies of the FINDINGS / IMPRESSION (and synonyms) sections, in report order; when
    the report has neither, the whole text less the request sections (:data:`REQUEST`). A
    request header written inline ("History: cough.") covers the rest of its line only.
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
    if spans:
        return spans
    return _outside_requests(text, headers)


def _outside_requests(text: str, headers: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The text outside the request sections (a report without FINDINGS / IMPRESSION)."""
    spans, start = [], 0
    for i, (head_start, body_start, name) in enumerate(headers):
        if name not in REQUEST:
            continue
        spans.append((start, head_start))
        next_header = headers[i + 1][0] if i + 1 < len(headers) else len(text)
        inline = text[body_start:next_header].split("\n", 1)[0].strip()
        line_end = text.find("\n", body_start, next_header)
        start = line_end if inline and line_end >= 0 else next_header
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]
