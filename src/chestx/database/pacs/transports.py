"""Two ways to talk to a PACS behind one interface: ``find`` (a query at one level) and
``fetch`` (the instances of one series, as pydicom datasets).

- :class:`DicomwebTransport`: QIDO-RS and WADO-RS with ``dicomweb-client``.
- :class:`DimseTransport`: C-FIND, and C-GET (default: the PACS needs no entry for us) or
  C-MOVE to our own storage SCP (:class:`chestx.database.pacs.storescp.StorageSCP`), with
  ``pynetdicom``.

Failures raise :class:`TransportError`: ``retryable`` for timeouts, 5xx answers and aborted
associations, ``unreachable`` when the PACS cannot be reached at all (the job stops rather
than failing every study in turn). A refused association is neither: wrong AE titles do not
heal by retrying.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from pynetdicom.status import code_to_category

from chestx.database.pacs.endpoints import DimseEndpoint, check_aet
from chestx.errors import ChestxError

#: Query levels, in DIMSE's names (DICOMweb: studies, series, instances).
LEVELS = ("STUDY", "SERIES", "IMAGE")
#: Instances asked for per C-GET / C-MOVE request (a list of SOPInstanceUIDs, PS3.4 C.2.2.2.2).
RETRIEVE_BATCH = 50
#: Answers asked for per QIDO-RS request.
QIDO_PAGE = 1000
#: Transfer syntaxes we accept in C-GET / C-MOVE: the PACS sends what it stores.
ACCEPTED_SYNTAXES = (
    "1.2.840.10008.1.2.1",      # Explicit VR Little Endian
    "1.2.840.10008.1.2",        # Implicit VR Little Endian
    "1.2.840.10008.1.2.5",      # RLE Lossless
    "1.2.840.10008.1.2.4.50",   # JPEG Baseline
    "1.2.840.10008.1.2.4.51",   # JPEG Extended
    "1.2.840.10008.1.2.4.57",   # JPEG Lossless
    "1.2.840.10008.1.2.4.70",   # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",   # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",   # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",   # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",   # JPEG 2000
)


#: SOP classes asked for in C-GET when the instance query did not name them.
FALLBACK_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",        # Computed Radiography
    "1.2.840.10008.5.1.4.1.1.1.1",      # Digital X-Ray, for presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",    # Digital X-Ray, for processing
    "1.2.840.10008.5.1.4.1.1.88.11",    # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",    # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",    # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.104.1",    # Encapsulated PDF
)
#: An association holds at most 128 presentation contexts (one is the C-GET model).
MAX_GET_CLASSES = 127 // len(ACCEPTED_SYNTAXES)


class TransportError(ChestxError):
    """A failed exchange with the PACS (the message is one line)."""

    def __init__(self, message: str, retryable: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.retryable = retryable or unreachable
        self.unreachable = unreachable


class Transport(Protocol):
    """What query and retrieve need from a PACS connection (one per thread)."""

    name: str

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]: ...

    def fetch(self, study: str, series: str,
              instances: list[dict[str, str]]) -> Iterator[Dataset]: ...

    def close(self) -> None: ...


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


# ---------------------------------------------------------------------------- DICOMweb
class _TimeoutSession(requests.Session):
    """A requests session whose calls time out (requests has no default timeout)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class DicomwebTransport:
    """QIDO-RS queries and WADO-RS retrieval from ``url`` (the DICOMweb root)."""

    name = "dicomweb"

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.client = DICOMwebClient(self.url, session=_TimeoutSession(timeout))
        self.client.set_http_retry_params(retry=False)  # the retrieve job retries itself

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]:
        filters = {k: v for k, v in query.items() if v and k not in ("StudyInstanceUID",
                                                                      "SeriesInstanceUID")}
        study, series = query.get("StudyInstanceUID") or None, \
            query.get("SeriesInstanceUID") or None
        if level == "STUDY" and study:
            filters["StudyInstanceUID"] = study
        search = {"STUDY": self.client.search_for_studies,
                  "SERIES": self.client.search_for_series,
                  "IMAGE": self.client.search_for_instances}[level]
        where = {"SERIES": {"study_instance_uid": study},
                 "IMAGE": {"study_instance_uid": study, "series_instance_uid": series}}
        answers: list[dict] = []
        with self._errors(f"QIDO-RS {level.lower()} query"):
            # our own paging: some servers cap answers, some ignore offset (then a page
            # repeats the first one and the search stops)
            while True:
                page = search(**where.get(level, {}), search_filters=filters, fields=fields,
                              limit=QIDO_PAGE, offset=len(answers))
                if not page or (answers and page[0] == answers[0]):
                    break
                answers += page
                if len(page) < QIDO_PAGE:
                    break
        return [flatten(Dataset.from_json(a), fields) for a in answers]

    def fetch(self, study: str, series: str,
              instances: list[dict[str, str]]) -> Iterator[Dataset]:
        for instance in instances:
            with self._errors(f"WADO-RS instance {instance['SOPInstanceUID']}"):
                ds = self.client.retrieve_instance(study, series, instance["SOPInstanceUID"])
            yield ds

    def close(self) -> None:
        self.client._session.close()

    def _errors(self, what: str):
        return _DicomwebErrors(self.url, what)


class _DicomwebErrors:
    """Turns requests' exceptions into :class:`TransportError` (a context manager)."""

    def __init__(self, url: str, what: str) -> None:
        self.url, self.what = url, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, trace) -> bool:
        if exc is None:
            return False
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            code = exc.response.status_code
            raise TransportError(f"{self.url}: {self.what}: HTTP {code} {exc.response.reason}",
                                 retryable=code >= 500 or code == 429) from exc
        if isinstance(exc, requests.exceptions.Timeout):
            raise TransportError(f"{self.url}: {self.what}: timed out", retryable=True) from exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            raise TransportError(f"{self.url}: cannot reach the DICOMweb server "
                                 f"({_first_line(exc)})", unreachable=True) from exc
        if isinstance(exc, requests.exceptions.RequestException | ValueError):
            raise TransportError(f"{self.url}: {self.what}: {_first_line(exc)}",
                                 retryable=True) from exc
        return False


# ---------------------------------------------------------------------------- DIMSE
class DimseTransport:
    """C-FIND, and C-GET or C-MOVE (``mode``) against ``peer`` as ``our_aet``.

    ``move_dest`` and ``scp``: the AE title the PACS sends C-MOVE transfers to and the
    running :class:`~chestx.database.pacs.storescp.StorageSCP` that receives them.
    """

    name = "dimse"

    def __init__(self, peer: DimseEndpoint, our_aet: str, mode: str = "get",
                 move_dest: str | None = None, scp=None, timeout: float = 60.0) -> None:
        if mode not in ("get", "move"):
            raise ChestxError(f"DIMSE retrieve mode must be get or move, not {mode!r}")
        if mode == "move" and (not move_dest or scp is None):
            raise ChestxError("C-MOVE needs --move-dest AET and --store-port N")
        self.peer, self.our_aet, self.mode = peer, our_aet, mode
        self.move_dest, self.scp, self.timeout = move_dest, scp, timeout
        self._find_assoc = None

    def _ae(self) -> AE:
        ae = AE(ae_title=self.our_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        ae.connection_timeout = min(self.timeout, 10.0)
        return ae

    def _associate(self, ae: AE, **kwargs):
        assoc = ae.associate(self.peer.host, self.peer.port, ae_title=self.peer.aet, **kwargs)
        if assoc.is_established:
            return assoc
        if assoc.is_rejected:
            raise TransportError(f"{self.peer}: association rejected (the PACS does not accept "
                                 f"called AE title {self.peer.aet!r} or our AE title "
                                 f"{self.our_aet!r}; check --dimse and --aet)")
        try:  # pynetdicom reports a refused TCP connection as an abort: tell them apart
            socket.create_connection((self.peer.host, self.peer.port), timeout=5).close()
        except OSError as exc:
            raise TransportError(f"{self.peer}: cannot reach the DICOM server "
                                 f"({exc.strerror or exc})", unreachable=True) from exc
        if assoc.is_aborted:
            raise TransportError(f"{self.peer}: association aborted by the PACS",
                                 retryable=True)
        raise TransportError(f"{self.peer}: cannot reach the DICOM server (no association)",
                             unreachable=True)

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]:
        if self._find_assoc is None or not self._find_assoc.is_established:
            ae = self._ae()
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
            self._find_assoc = self._associate(ae)
        identifier = Dataset()
        identifier.QueryRetrieveLevel = level
        for keyword in fields:
            setattr(identifier, keyword, "")
        for keyword, value in query.items():
            if value:
                setattr(identifier, keyword, value)
        answers = []
        for status, found in self._find_assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind):
            self._check(status, f"C-FIND {level.lower()} query", self._find_assoc)
            if found is not None and code_to_category(status.Status) == "Pending":
                answers.append(flatten(found, fields))
        return answers

    def fetch(self, study: str, series: str,
              instances: list[dict[str, str]]) -> Iterator[Dataset]:
        if self.mode == "get":
            yield from self._get(study, series, instances)
        else:
            yield from self._move(study, series, instances)

    def _get(self, study: str, series: str,
             instances: list[dict[str, str]]) -> Iterator[Dataset]:
        received: queue.Queue = queue.Queue()

        def on_store(event) -> int:
            ds = event.dataset
            ds.file_meta = event.file_meta
            received.put(ds)
            return 0x0000

        ae = self._ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        classes = sorted({i.get("SOPClassUID", "") for i in instances} - {""}) or \
            list(FALLBACK_SOP_CLASSES)
        # one context per transfer syntax: the PACS picks the one it stores, no transcoding
        for sop_class in classes[:MAX_GET_CLASSES]:
            for syntax in ACCEPTED_SYNTAXES:
                ae.add_requested_context(sop_class, syntax)
        roles = [build_role(sop_class, scp_role=True) for sop_class in classes]
        assoc = self._associate(ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)])
        try:
            for batch in _batches([i["SOPInstanceUID"] for i in instances]):
                identifier = _image_identifier(study, series, batch)
                for status, _ in assoc.send_c_get(identifier,
                                                  StudyRootQueryRetrieveInformationModelGet):
                    self._check(status, f"C-GET of {len(batch)} instances of series {series}",
                                assoc)
                    yield from _drain(received)
                yield from _drain(received)
        finally:
            _release(assoc)

    def _move(self, study: str, series: str,
              instances: list[dict[str, str]]) -> Iterator[Dataset]:
        ae = self._ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        assoc = self._associate(ae)
        try:
            for batch in _batches([i["SOPInstanceUID"] for i in instances]):
                identifier = _image_identifier(study, series, batch)
                for status, _ in assoc.send_c_move(identifier, self.move_dest,
                                                   StudyRootQueryRetrieveInformationModelMove):
                    self._check(status, f"C-MOVE of {len(batch)} instances to "
                                        f"{self.move_dest}", assoc)
                for sop in batch:
                    ds = self.scp.take(sop, timeout=self.timeout)
                    if ds is None:
                        raise TransportError(
                            f"{self.peer}: C-MOVE of {sop} to {self.move_dest} reported "
                            "success but nothing arrived at our storage SCP (is the PACS "
                            "sending to our --store-port?)", retryable=True)
                    yield ds
        finally:
            _release(assoc)

    def _check(self, status: Dataset, what: str, assoc) -> None:
        if status is None or "Status" not in status:
            if assoc.is_aborted or not assoc.is_established:
                raise TransportError(f"{self.peer}: {what}: association aborted",
                                     retryable=True)
            raise TransportError(f"{self.peer}: {what}: no answer (timed out)", retryable=True)
        category = code_to_category(status.Status)
        if category in ("Failure", "Cancel"):
            comment = str(status.get("ErrorComment", "")).strip()
            raise TransportError(f"{self.peer}: {what}: failed with status 0x{status.Status:04X}"
                                 + (f" ({comment})" if comment else ""),
                                 retryable=status.Status in (0xA700, 0xA702))

    def close(self) -> None:
        if self._find_assoc is not None:
            _release(self._find_assoc)
            self._find_assoc = None


def _image_identifier(study: str, series: str, sops: list[str]) -> Dataset:
    """An IMAGE-level retrieve of ``sops`` (a UID list: one request for many instances)."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    identifier.StudyInstanceUID, identifier.SeriesInstanceUID = study, series
    identifier.SOPInstanceUID = sops if len(sops) > 1 else sops[0]
    return identifier


def _batches(sops: list[str], size: int = RETRIEVE_BATCH) -> Iterator[list[str]]:
    for start in range(0, len(sops), size):
        yield sops[start:start + size]


def _drain(received: queue.Queue) -> Iterator[Dataset]:
    while True:
        try:
            yield received.get_nowait()
        except queue.Empty:
            return


def _release(assoc) -> None:
    try:
        if assoc.is_established:
            assoc.release()
    except (OSError, RuntimeError, threading.ThreadError):
        assoc.abort()


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def transport_factory(dicomweb: str | None, dimse: str | None, aet: str,
                      move_dest: str | None = None, scp=None,
                      timeout: float = 60.0) -> tuple[Callable[[], Transport], str]:
    """``(make_transport, description)`` for exactly one of ``dicomweb`` (a URL) and
    ``dimse`` (``AET@HOST:PORT``); C-MOVE when ``move_dest`` is given, else C-GET."""
    if bool(dicomweb) == bool(dimse):
        raise ChestxError("give exactly one of --dicomweb URL and --dimse AET@HOST:PORT")
    if dicomweb:
        if not dicomweb.startswith(("http://", "https://")):
            raise ChestxError(f"--dicomweb {dicomweb!r}: expected an http(s):// URL")
        return (lambda: DicomwebTransport(dicomweb, timeout=timeout)), dicomweb
    peer = DimseEndpoint.parse(dimse)
    our_aet = check_aet(aet, "--aet")
    mode = "move" if move_dest else "get"
    return (lambda: DimseTransport(peer, our_aet, mode=mode, move_dest=move_dest, scp=scp,
                                   timeout=timeout)), f"{peer} as {our_aet} (C-{mode.upper()})"
