"""Radiology reports stored as DICOM: the text of Structured Reports (SR), for ingest.

A report SR (Basic Text, Enhanced or Comprehensive SR) holds its text in a content tree:
CONTAINER items (sections, named by their ConceptNameCodeSequence: "Findings",
"Impression") holding TEXT items. :func:`report_text` flattens the tree in document order,
writing each named section as a header line (``FINDINGS:``) so that the labeler's section
finder (:mod:`chestx.reports.sections`) reads the same FINDINGS / IMPRESSION it reads in a
text report. A TEXT item named like a section (concept "Impression", value "No acute ...") is
written the same way. An Encapsulated PDF report is recognised and not read.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydicom.dataset import Dataset

from chestx.reports.sections import HEADERS  # one source of the section names

#: SOP classes whose documents :func:`report_text` reads.
SR_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR",
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
    "1.2.840.10008.5.1.4.1.1.88.35": "Extensible SR",
}
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
#: Value types whose text goes into the report (CODE gives its code meaning).
TEXT_VALUE_TYPES = ("TEXT", "CODE", "NUM", "PNAME", "DATE")


def report_kind(ds: Dataset) -> str:
    """``"sr"`` for a structured report, ``"pdf"`` for an encapsulated PDF, else ``""``."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in SR_SOP_CLASSES or (str(ds.get("Modality", "")).upper() == "SR"
                                       and "ContentSequence" in ds):
        return "sr"
    if sop_class == ENCAPSULATED_PDF or "EncapsulatedDocument" in ds:
        return "pdf"
    return ""


def concept_name(item: Dataset) -> str:
    """The CodeMeaning of an item's ConceptNameCodeSequence (``""`` when absent)."""
    codes = item.get("ConceptNameCodeSequence")
    return str(codes[0].get("CodeMeaning", "")).strip() if codes else ""


def report_text(ds: Dataset) -> str:
    """The report text of an SR dataset: sections as ``NAME:`` header lines, then their text.

    The document title (the root container's concept name) is not part of the text; TEXT items
inside a named section are its lines.
    Returns ``""`` for a document without text.
    """
    lines = list(_walk(ds.get("ContentSequence") or [], in_section=False))
    return "\n".join(line for line in lines if line).strip()


def _walk(items, in_section: bool) -> Iterator[str]:
    for item in items:
        kind = str(item.get("ValueType", "")).upper()
        name = concept_name(item)
        if kind == "CONTAINER":
            if name:
                yield f"{name.upper()}:"
            yield from _walk(item.get("ContentSequence") or [], in_section or bool(name))
        elif kind in TEXT_VALUE_TYPES:
            value = _value(item, kind)
            # a named TEXT item is a section of its own only outside a named container
            # (inside "Findings", items are commonly named "Finding")
            if value:
                yield f"{name.upper()}: {value}" if _is_section(name) and not in_section \
                    else value
            yield from _walk(item.get("ContentSequence") or [], in_section)


def _value(item: Dataset, kind: str) -> str:
    if kind == "TEXT":
        return str(item.get("TextValue", "")).strip()
    if kind == "CODE":
        codes = item.get("ConceptCodeSequence")
        return str(codes[0].get("CodeMeaning", "")).strip() if codes else ""
    if kind == "NUM":
        measured = item.get("MeasuredValueSequence")
        return str(measured[0].get("NumericValue", "")).strip() if measured else ""
    if kind == "PNAME":
        return ""  # a person's name is not report text
    return str(item.get("Date", "")).strip()


def _is_section(name: str) -> bool:
    return " ".join(name.lower().split()) in HEADERS
