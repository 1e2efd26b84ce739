"""DIMSE: C-FIND, and C-GET (default: the PACS needs no entry for us) or C-MOVE to our own
storage SCP (:class:`chestx.database.pacs.storescp.StorageSCP`), with ``pynetdicom``.

One :class:`DimseTransport` is one unit of work's association: opened at the first query or
retrieve, used for every query and retrieve of that unit back to back (studies, series and
instance lists in single requests, as getscu does), released by :meth:`DimseTransport.close`
when the unit is done, so no association is ever held idle. A PACS serves DICOM with a few
threads (Orthanc: 4); an idle association holds one of them. A busy PACS that rejects the
association as transient, or aborts it, is asked again after a backoff.

What arrives is kept as the bytes that came over the wire (``event.encoded_dataset()``):
never decoded, never re-encoded.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from pynetdicom.status import code_to_category
from pynetdicom.transport import AssociationSocket

from chestx.database.pacs.endpoints import DimseEndpoint
from chestx.database.pacs.wire import FetchRequest, Received, TransportError, flatten
from chestx.errors import ChestxError

#: Instances asked for per IMAGE-level C-GET / C-MOVE (a UID list, PS3.4 C.4.2.2.1).
RETRIEVE_BATCH = 200
#: Transfer syntaxes we accept in C-GET: one context each, so the PACS sends what it stores.
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
#: SOP classes every C-GET association offers to store (a chest database's images and
#: reports); classes a study list names beyond these are added when they show up.
FALLBACK_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",        # Computed Radiography
    "1.2.840.10008.5.1.4.1.1.1.1",      # Digital X-Ray, for presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",    # Digital X-Ray, for processing
    "1.2.840.10008.5.1.4.1.1.88.11",    # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",    # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",    # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.104.1",    # Encapsulated PDF
)
#: An association holds at most 128 presentation contexts (two are the Find and Get models).
MAX_GET_CLASSES = 126 // len(ACCEPTED_SYNTAXES)
#: Largest PDU we accept: fewer, larger PDUs cost the receiver less per byte.
MAX_PDU = 4 * 1024 * 1024
#: Bytes read from an association's socket at a time (what is there, up to this).
READ_AHEAD = 1 << 20
#: Size of a PDU header (type, reserved, length): what pynetdicom reads first.
PDU_HEADER = 6
#: Linux's TCP_QUICKACK (``None`` elsewhere).
QUICKACK = getattr(socket, "TCP_QUICKACK", None)
#: Tries at opening an association that a busy PACS rejects (transient) or aborts.
ASSOCIATE_TRIES = 5


class DimseTransport:
    """C-FIND, and C-GET or C-MOVE (``mode``) against ``peer`` as ``our_aet``.

    ``move_dest`` and ``scp``: the AE title the PACS sends C-MOVE transfers to and the
    running :class:`~chestx.database.pacs.storescp.StorageSCP` that receives them.
    ``backoff``: first wait (s) before asking a busy PACS again for an association (doubles
    each time).
    """

    name = "dimse"

    def __init__(self, peer: DimseEndpoint, our_aet: str, mode: str = "get",
                 move_dest: str | None = None, scp=None, timeout: float = 60.0,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        if mode not in ("get", "move"):
            raise ChestxError(f"DIMSE retrieve mode must be get or move, not {mode!r}")
        if mode == "move" and (not move_dest or scp is None):
            raise ChestxError("C-MOVE needs --move-dest AET and --store-port N")
        self.peer, self.our_aet, self.mode = peer, our_aet, mode
        self.move_dest, self.scp, self.timeout = move_dest, scp, timeout
        self.backoff, self.sleep = backoff, sleep
        self._assoc = None
        self._classes: frozenset[str] = frozenset()
        self._received: queue.Queue = queue.Queue()

    # ------------------------------------------------------------ the association
    def _association(self, classes: frozenset[str] = frozenset()):
        """The open association, (re)opened when it is gone or lacks storage contexts."""
        wanted = self._classes | classes if self.mode == "get" else frozenset()
        if self._assoc is not None and self._assoc.is_established and wanted <= self._classes:
            return self._assoc
        self.close()
        # the classes asked for first: an association holds storage contexts for only
        # MAX_GET_CLASSES of them
        ordered = sorted(wanted) + sorted(set(FALLBACK_SOP_CLASSES) - wanted) \
            if self.mode == "get" else []
        ordered = ordered[:MAX_GET_CLASSES]
        self._assoc = self._associate(ordered)
        self._classes = frozenset(ordered)
        return self._assoc

    def _associate(self, classes: list[str]):
        for attempt in range(ASSOCIATE_TRIES):
            ae = AE(ae_title=self.our_aet)
            ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
            ae.connection_timeout = min(self.timeout, 10.0)
            ae.maximum_pdu_size = MAX_PDU
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
            kwargs = {}
            if self.mode == "get":
                ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
                # one context per transfer syntax: the PACS picks the stored one
                for sop_class in classes:
                    for syntax in ACCEPTED_SYNTAXES:
                        ae.add_requested_context(sop_class, syntax)
                kwargs = {"ext_neg": [build_role(c, scp_role=True) for c in classes],
                          "evt_handlers": [(evt.EVT_C_STORE, self._on_store)]}
            else:
                ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            assoc = ae.associate(self.peer.host, self.peer.port, ae_title=self.peer.aet,
                                 **kwargs)
            if assoc.is_established:
                tune_socket(assoc)
                return assoc
            self._check_reachable(assoc)
            busy = _transient(assoc)
            if not busy:
                raise TransportError(f"{self.peer}: association rejected (the PACS does not "
                                     f"accept called AE title {self.peer.aet!r} or our AE "
                                     f"title {self.our_aet!r}; check --dimse and --aet)")
            if attempt < ASSOCIATE_TRIES - 1:
                self.sleep(self.backoff * 2 ** attempt)  # the PACS is busy: ask again later
        raise TransportError(f"{self.peer}: the PACS stays busy (association rejected or "
                             f"aborted {ASSOCIATE_TRIES} times)", retryable=True)

    def _check_reachable(self, assoc) -> None:
        if assoc.is_rejected:
            return
        try:  # pynetdicom reports a refused TCP connection as an abort: tell them apart
            socket.create_connection((self.peer.host, self.peer.port), timeout=5).close()
        except OSError as exc:
            raise TransportError(f"{self.peer}: cannot reach the DICOM server "
                                 f"({exc.strerror or exc})", unreachable=True) from exc

    def _on_store(self, event) -> int:
        self._received.put(as_received(event))
        return 0x0000

    # ------------------------------------------------------------ services
    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]:
        assoc = self._association()
        identifier = Dataset()
        identifier.QueryRetrieveLevel = level
        for keyword in fields:
            setattr(identifier, keyword, "")
        for keyword, value in query.items():
            if value:
                setattr(identifier, keyword, value)
        answers = []
        for status, found in assoc.send_c_find(identifier,
                                               StudyRootQueryRetrieveInformationModelFind):
            self._check(status, f"C-FIND {level.lower()} query", assoc)
            if found is not None and code_to_category(status.Status) == "Pending":
                answers.append(flatten(found, fields))
        return answers

    def fetch(self, request: FetchRequest) -> Iterator[Received]:
        for identifier in _identifiers(request):
            if self.mode == "get":
                yield from self._get(request, identifier)
            else:
                yield from self._move(request, identifier)

    def _get(self, request: FetchRequest, identifier: Dataset) -> Iterator[Received]:
        assoc = self._association(request.classes)
        for status, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet):
            self._check(status, f"C-GET ({request.describe()})", assoc)
            yield from _drain(self._received)
        yield from _drain(self._received)

    def _move(self, request: FetchRequest, identifier: Dataset) -> Iterator[Received]:
        assoc = self._association()
        inbox = self.scp.expect(request.expected)
        try:
            final = None
            for status, _ in assoc.send_c_move(identifier, self.move_dest,
                                               StudyRootQueryRetrieveInformationModelMove):
                self._check(status, f"C-MOVE ({request.describe()}) to {self.move_dest}",
                            assoc)
                final = status
                yield from inbox.take()
            # the sub-operations the PACS completed have all arrived, or arrive shortly
            sent = int(final.get("NumberOfCompletedSuboperations", 0) or 0) if final else 0
            yield from inbox.take(wait_for=sent, timeout=self.timeout)
        finally:
            self.scp.forget(inbox)

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
        """Release the association (the unit of work is done)."""
        if self._assoc is not None:
            _release(self._assoc)
            self._assoc = None
            self._classes = frozenset()
        _drain_all(self._received)


def as_received(event) -> Received:
    """A C-STORE's instance as Part 10 bytes: the preamble and the file meta information
    the receiver writes (as pynetdicom's ``encoded_dataset()`` does), then the data set as
    it came, not copied (8 MB a radiograph)."""
    head = b"\x00" * 128 + b"DICM" + encode_file_meta(event.file_meta)
    return Received(str(event.request.AffectedSOPInstanceUID), head,
                    iter((event.request.DataSet.getbuffer(),)))


class FastSocket(AssociationSocket):
    """pynetdicom's association socket, reading ahead in large blocks.

    pynetdicom reads a PDU's header, then its body 4 KB per ``recv``; Orthanc (DCMTK) sends
    16 KB PDUs whatever we accept, so an 8 MB radiograph cost some 2,000 system calls. This
    one fills a buffer with what the socket has (up to :data:`READ_AHEAD`) and serves the
    reads from it; ``ready`` counts what is buffered, as ``select`` cannot see it.

    It also asks for a quick ACK before reading a PDU header (Linux): DCMTK writes a PDU in
    pieces with Nagle's algorithm on, so the second piece waits for our ACK of the first,
    which Linux delays by up to 40 ms: every DIMSE exchange (a C-FIND, a C-ECHO) cost about
    45 ms. getscu pays it too.
    """

    _pending: bytearray

    @property
    def ready(self) -> bool:
        return bool(self._pending) or super().ready

    def recv(self, nr_bytes: int) -> bytearray:
        while len(self._pending) < nr_bytes:
            if nr_bytes <= PDU_HEADER and QUICKACK is not None:
                try:
                    self.socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
                except OSError:  # closed under us: the read below says so
                    pass
            block = self.socket.recv(max(READ_AHEAD, nr_bytes - len(self._pending)))
            if not block:  # the connection is broken: what there is (as pynetdicom does)
                break
            self._pending += block
        data = self._pending[:nr_bytes]
        del self._pending[:nr_bytes]
        return data


def tune_socket(assoc) -> None:
    """Make ``assoc`` read ahead, acknowledge at once and send without delay
    (:class:`FastSocket`)."""
    wrapper = assoc.dul.socket
    if type(wrapper) is not AssociationSocket or getattr(wrapper, "socket", None) is None:
        return
    wrapper.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    wrapper._pending = bytearray()
    wrapper.__class__ = FastSocket


def _identifiers(request: FetchRequest) -> Iterator[Dataset]:
    """The identifiers of ``request``: one for studies or series, batches for instances."""
    if request.level != "IMAGE":
        identifier = Dataset()
        identifier.QueryRetrieveLevel = request.level
        identifier.StudyInstanceUID = _one_or_list(request.studies)
        if request.level == "SERIES":
            identifier.SeriesInstanceUID = _one_or_list(request.series)
        yield identifier
        return
    for start in range(0, len(request.sops), RETRIEVE_BATCH):
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "IMAGE"
        identifier.StudyInstanceUID = request.studies[0]
        identifier.SeriesInstanceUID = request.series[0]
        identifier.SOPInstanceUID = _one_or_list(request.sops[start:start + RETRIEVE_BATCH])
        yield identifier


def _one_or_list(uids: tuple[str, ...]):
    return list(uids) if len(uids) > 1 else uids[0]


def _transient(assoc) -> bool:
    """Whether a failed association is worth asking again: rejected as transient (the PACS
    is at its limit), or aborted while the port answers."""
    if assoc.is_rejected:
        primitive = getattr(assoc.acceptor, "primitive", None)
        return getattr(primitive, "result", None) == 0x02
    return bool(assoc.is_aborted)


def _drain(received: queue.Queue) -> Iterator[Received]:
    while True:
        try:
            yield received.get_nowait()
        except queue.Empty:
            return


def _drain_all(received: queue.Queue) -> None:
    for _ in _drain(received):
        pass


def _release(assoc) -> None:
    try:
        if assoc.is_established:
            assoc.release()
    except (OSError, RuntimeError, threading.ThreadError):
        assoc.abort()
