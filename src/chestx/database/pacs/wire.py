"""What every transport shares: the interface, the request of a retrieve, what arrives, and
the error a failed exchange raises.

A retrieve asks for a :class:`FetchRequest` (whole studies, whole series of one study, or a
list of instances of one series) and gets :class:`Received` items: the SOPInstanceUID and the
instance's DICOM Part 10 bytes exactly as they came off the wire, never decoded on the way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pydicom
from pydicom.dataset import Dataset

from chestx.atomic import atomic_path
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
    single study) or IMAGE (``sops`` of the single study and series). ``members``: the
    (study, series, SOP instance) UIDs of every instance it brings, at every level (a server
    that refuses a study-level retrieve is asked for them one by one); ``classes``: their
    SOP classes (C-GET negotiates a storage context for each)."""

    level: str
    studies: tuple[str, ...]
    series: tuple[str, ...] = ()
    sops: tuple[str, ...] = ()
    members: tuple[tuple[str, str, str], ...] = ()
    classes: frozenset[str] = field(default_factory=frozenset)

    @property
    def expected(self) -> frozenset[str]:
        """The SOPInstanceUIDs it brings."""
        return frozenset(sop for _, _, sop in self.members)

    def describe(self) -> str:
        what = {"STUDY": self.studies, "SERIES": self.series, "IMAGE": self.sops}[self.level]
        return f"{self.level.lower()} retrieve of {len(what)} " + \
            {"STUDY": "studies", "SERIES": "series", "IMAGE": "instances"}[self.level]


@dataclass(frozen=True)
class Received:
    """An instance as it arrives: its SOPInstanceUID and its DICOM Part 10 bytes, ``data``
    followed by the chunks of ``rest`` while it still streams in (read them once, in order,
    before the next instance)."""

    sop_uid: str
    data: bytes | bytearray
    rest: Iterator[bytes | memoryview] | None = None

    def chunks(self) -> Iterator[bytes | bytearray | memoryview]:
        yield self.data
        if self.rest is not None:
            yield from self.rest

    def write(self, path: Path) -> int:
        """Write the bytes as they are, atomically, chunk by chunk as they arrive; returns
        the size."""
        size = 0
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            for chunk in self.chunks():
                size += handle.write(chunk)
        return size

    def dataset(self) -> Dataset:
        """The decoded dataset (only de-identification needs it: held in memory)."""
        return pydicom.dcmread(io.BytesIO(b"".join(bytes(c) for c in self.chunks())))

    def discard(self) -> None:
        """Read what is left of it, unused."""
        for _ in self.chunks():
            pass


class Transport(Protocol):
    """What query and retrieve need from a PACS connection (one per worker thread)."""

    name: str

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]: ...

    def fetch(self, request: FetchRequest) -> Iterator[Received]: ...

    def close(self) -> None: ...


#: Bytes of a Part 10 stream read for its SOPInstanceUID (group 0008 comes early).
HEADER_PEEK = 1 << 16


class Link:
    """A worker's connection to the PACS: made at first use, closed when asked."""

    def __init__(self, make: Callable[[], Transport]) -> None:
        self.make, self.transport = make, None

    def get(self) -> Transport:
        if self.transport is None:
            self.transport = self.make()
        return self.transport

    def close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            try:
                transport.close()
            except Exception:  # closing a dead connection must not hide the real error
                pass


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
