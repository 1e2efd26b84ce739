"""What every transport shares: the interface, the request of a retrieve, what arrives, and
the error a failed exchange raises.

A retrieve asks for a :class:`FetchRequest` (whole studies, whole series of one study, or a
list of instances of one series) and gets :class:`Received` items: the SOPInstanceUID and the
instance's DICOM Part 10 bytes exactly as they came off the wire, never decoded on the way.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pydicom
from pydicom.dataset import Dataset

from chestx.errors import ChestxError

#: Query levels, in DIMSE's names (DICOMweb: studies, series, instances).
LEVELS = ("STUDY", "SERIES", "IMAGE")


class TransportError(ChestxError):
    """A failed exchange with the PACS (the message is one line).

    ``retryable`` for timeouts, 5xx answers and aborted associations, ``unreachable`` when
    the PACS cannot be reached at all (the job stops rather than failing every study in
    turn). A refused association is neither: wrong AE titles do not heal by retrying.
    """

    def __init__(self, message: str, retryable: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.retryable = retryable or unreachable
        self.unreachable = unreachable


@dataclass(frozen=True)
class FetchRequest:
    """One retrieve: ``level`` STUDY (all of ``studies``), SERIES (all of ``series`` of the
    single study) or IMAGE (``sops`` of the single study and series). ``expected``: the
    SOPInstanceUIDs it brings (all of them, at every level); ``classes``: their SOP classes
    (C-GET negotiates a storage context for each)."""

    level: str
    studies: tuple[str, ...]
    series: tuple[str, ...] = ()
    sops: tuple[str, ...] = ()
    expected: frozenset[str] = field(default_factory=frozenset)
    classes: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        what = {"STUDY": self.studies, "SERIES": self.series, "IMAGE": self.sops}[self.level]
        return f"{self.level.lower()} retrieve of {len(what)} " + \
            {"STUDY": "studies", "SERIES": "series", "IMAGE": "instances"}[self.level]


@dataclass(frozen=True)
class Received:
    """An instance as it arrived: its SOPInstanceUID and its DICOM Part 10 bytes."""

    sop_uid: str
    data: bytes | bytearray

    def dataset(self) -> Dataset:
        """The decoded dataset (only de-identification needs it)."""
        return pydicom.dcmread(io.BytesIO(self.data))


class Transport(Protocol):
    """What query and retrieve need from a PACS connection (one per worker thread)."""

    name: str

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]: ...

    def fetch(self, request: FetchRequest) -> Iterator[Received]: ...

    def close(self) -> None: ...


#: Bytes of a Part 10 stream read for its SOPInstanceUID (group 0008 comes early).
HEADER_PEEK = 1 << 16


def part10_sop_uid(data: bytes | bytearray) -> str:
    """The SOPInstanceUID of Part 10 bytes, read from the first bytes of the header (the
    whole header where it is longer); :class:`TransportError` when they are not DICOM."""
    view = memoryview(data)
    for end in (HEADER_PEEK, len(data)):
        try:
            ds = pydicom.dcmread(io.BytesIO(view[:end]), stop_before_pixels=True,
                                 specific_tags=["SOPInstanceUID"])
            uid = str(ds.get("SOPInstanceUID", "") or
                      ds.file_meta.get("MediaStorageSOPInstanceUID", ""))
        except Exception:  # a header cut short by the peek, or not DICOM at all
            uid = ""
        if uid or end >= len(data):
            break
    if not uid:
        raise TransportError("an answer part is not a DICOM instance (no SOPInstanceUID)",
                             retryable=True)
    return uid


def flatten(ds: Dataset, keywords: list[str]) -> dict[str, str]:
    """The ``keywords`` of a query answer as strings; several values joined with ``,``."""
    row = {}
    for keyword in keywords:
        value = ds.get(keyword, "")
        if value is None:
            value = ""
        elif not isinstance(value, str | bytes) and hasattr(value, "__iter__"):
            value = ",".join(str(v) for v in value)
        row[keyword] = str(value).strip()
    return row


def first_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
