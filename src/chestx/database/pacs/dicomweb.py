"""DICOMweb: QIDO-RS queries with ``dicomweb-client``, WADO-RS retrieval streamed by hand.

Retrieval asks for a whole study or series per request (multipart/related WADO-RS, the stored
transfer syntax: ``transfer-syntax=*``) and reads the answer part by part as it streams, so
a study is never held in memory whole, and each part's Part 10 bytes go to disk as they came.
Every request says ``Accept-Encoding: identity``: pixel data barely compresses, and gzip costs
the server about 0.3 s of CPU per 8 MB radiograph and the client as much again to inflate it.
A server that refuses study- or series-level retrieval gets one request per instance.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse
from collections.abc import Iterator

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from chestx.database.pacs.wire import (
    HEADER_PEEK,
    FetchRequest,
    Received,
    TransportError,
    first_line,
    flatten,
    part10_sop_uid,
)

#: Answers asked for per QIDO-RS request.
QIDO_PAGE = 1000
#: Bytes read from the socket at a time while a multipart answer streams in.
CHUNK = 1 << 20
#: Accept headers of a WADO-RS retrieve: the stored syntax first; plain Part 10 for servers
#: that refuse the ``*`` parameter (406).
ACCEPT_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
ACCEPT_PLAIN = 'multipart/related; type="application/dicom"'
#: Answers to a study- or series-level retrieve that mean "not here, ask per instance".
REFUSALS = (400, 403, 404, 405, 406, 415, 501)


class _Session(requests.Session):
    """A requests session that times out (requests has no default) and asks for no
    content coding."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["Accept-Encoding"] = "identity"

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class DicomwebTransport:
    """QIDO-RS queries and WADO-RS retrieval from ``url`` (the DICOMweb root)."""

    name = "dicomweb"

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.session = _Session(timeout)
        self.client = DICOMwebClient(self.url, session=self.session)
        self.client.set_http_retry_params(retry=False)  # the retrieve job retries itself
        self.wado = WadoConnection(self.url, timeout)
        self.whole = True  # study / series per request until the server refuses it
        self.accept = ACCEPT_STORED

    def find(self, level: str, query: dict[str, str],
             fields: list[str]) -> list[dict[str, str]]:
        filters = {k: v for k, v in query.items() if v and k not in ("StudyInstanceUID",
                                                                      "SeriesInstanceUID")}
        study, series = query.get("StudyInstanceUID") or None, \
            query.get("SeriesInstanceUID") or None
        if isinstance(study, list | tuple):  # UID list matching: comma-separated
            filters["StudyInstanceUID"], study = ",".join(study), None
        if level == "STUDY" and study:
            filters["StudyInstanceUID"] = study
        search = {"STUDY": self.client.search_for_studies,
                  "SERIES": self.client.search_for_series,
                  "IMAGE": self.client.search_for_instances}[level]
        where = {"SERIES": {"study_instance_uid": study},
                 "IMAGE": {"study_instance_uid": study, "series_instance_uid": series}}
        answers: list[dict] = []
        with _errors(self.url, f"QIDO-RS {level.lower()} query"):
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

    def fetch(self, request: FetchRequest) -> Iterator[Received]:
        if request.level != "IMAGE" and self.whole:
            base = f"{self.url}/studies"
            paths = [f"{base}/{s}" for s in request.studies] if request.level == "STUDY" \
                else [f"{base}/{request.studies[0]}/series/{s}" for s in request.series]
            try:
                for path in paths:
                    yield from self._retrieve(path)
                return
            except _Refused:
                self.whole = False  # this server: one instance per request from now on
        yield from self._per_instance(request)

    def _per_instance(self, request: FetchRequest) -> Iterator[Received]:
        """Each instance of ``request`` on its own (what arrived already is skipped by the
        caller: it takes each instance once)."""
        for study, series, sop in request.members:
            path = f"{self.url}/studies/{study}/series/{series}/instances/{sop}"
            try:
                yield from self._retrieve(path)
            except _Refused as exc:
                raise TransportError(f"{self.url}: WADO-RS instance {sop}: HTTP {exc}",
                                     retryable=str(exc).startswith("5")) from None

    def _retrieve(self, url: str) -> Iterator[Received]:
        """The instances of one WADO-RS answer, one multipart part at a time."""
        path = url.removeprefix(self.url)
        with _errors(self.url, f"WADO-RS {path.lstrip('/')}"):
            response = self.wado.get(path, self.accept)
            try:
                if response.status == 406 and self.accept == ACCEPT_STORED:
                    self.accept = ACCEPT_PLAIN  # the server transcodes: still one request
                    response.read()
                    yield from self._retrieve(url)
                    return
                if response.status in REFUSALS:
                    raise _Refused(f"{response.status} {response.reason}")
                if response.status >= 300:
                    raise TransportError(f"{self.url}: WADO-RS {path.lstrip('/')}: HTTP "
                                         f"{response.status} {response.reason}",
                                         retryable=response.status >= 500 or
                                         response.status == 429)
                yield from MultipartReader(response).parts()
            finally:
                response.close()

    def close(self) -> None:
        self.session.close()
        self.wado.close()


class _Refused(Exception):
    """The server will not answer this kind of retrieve (its HTTP status)."""


class WadoConnection:
    """One HTTP connection for WADO-RS answers (the standard library's: its responses read
    straight into our buffers, one copy from the socket)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        self.connection = kind(parts.hostname, parts.port, timeout=timeout)
        self.root = parts.path.rstrip("/")

    def get(self, path: str, accept: str) -> http.client.HTTPResponse:
        headers = {"Accept": accept, "Accept-Encoding": "identity"}
        try:
            self.connection.request("GET", self.root + path, headers=headers)
            return self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a kept-alive connection the server dropped: once more
            self.connection.request("GET", self.root + path, headers=headers)
            return self.connection.getresponse()

    def close(self) -> None:
        self.connection.close()


def multipart_boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/related`` Content-Type (``None`` for a single part)."""
    if not content_type.lower().startswith("multipart/"):
        return None
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if not match:
        raise ValueError(f"multipart answer without a boundary ({content_type})")
    return match.group(1).encode("latin-1")


class MultipartReader:
    """The instances of a multipart answer (RFC 2046) as they stream in.

    A part that states its Content-Length is streamed: its head (where the SOPInstanceUID
    is) first, then the rest in chunks read straight into one buffer, so the caller writes
    each chunk to disk while the next is still on the wire. A part without it is found by
    its closing delimiter, in memory. A single-part ``application/dicom`` answer is one
    instance."""

    def __init__(self, response, chunk: int = CHUNK) -> None:
        self.response, self.chunk = response, chunk
        self.boundary = multipart_boundary(response.getheader("Content-Type", "") or "")
        self.buf = bytearray()

    def parts(self) -> Iterator[Received]:
        if self.boundary is None:
            body = self.response.read()
            yield Received(part10_sop_uid(body), body)
            return
        delimiter = b"--" + self.boundary
        self._until(delimiter)  # the preamble
        while self._exact(2) != b"--":  # CRLF after a delimiter; "--" after the last one
            headers = self._until(b"\r\n\r\n").decode("latin-1")
            length = re.search(r"(?im)^content-length:\s*(\d+)\s*$", headers)
            if length:
                size = int(length.group(1))
                head = bytearray(min(size, HEADER_PEEK))
                self._into(memoryview(head))
                rest = self._stream(size - len(head))
                try:
                    yield Received(part10_sop_uid(head), head, rest)
                finally:
                    for _ in rest:  # whatever the caller left unread
                        pass
                self._until(delimiter)  # the CRLF before the next delimiter
            else:
                body = self._until(b"\r\n" + delimiter)
                yield Received(part10_sop_uid(body), body)

    def _stream(self, size: int) -> Iterator[memoryview]:
        """The next ``size`` bytes, a chunk at a time (read by the caller, outside the
        request: its failures are turned into :class:`TransportError` here)."""
        buffer = memoryview(bytearray(min(size, self.chunk)))
        while size > 0:
            piece = buffer[:min(size, len(buffer))]
            try:
                self._into(piece)
            except (ValueError, OSError, http.client.HTTPException) as exc:
                raise TransportError(f"WADO-RS answer cut short: {first_line(exc)}",
                                     retryable=True) from exc
            size -= len(piece)
            yield piece

    def _fill(self) -> None:
        more = self.response.read(self.chunk)
        if not more:
            raise ValueError("multipart answer ended inside a part")
        self.buf += more

    def _until(self, token: bytes) -> bytearray:
        """The bytes before ``token`` (consumed with it)."""
        scan = 0
        while (found := self.buf.find(token, scan)) < 0:
            scan = max(0, len(self.buf) - len(token) + 1)
            self._fill()
        head = self.buf[:found]
        del self.buf[:found + len(token)]
        return head

    def _exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        head = bytes(self.buf[:size])
        del self.buf[:size]
        return head

    def _into(self, view: memoryview) -> None:
        """Fill ``view``: from what is buffered, then straight from the socket."""
        have = min(len(self.buf), len(view))
        view[:have] = self.buf[:have]
        del self.buf[:have]
        while have < len(view):
            got = self.response.readinto(view[have:])
            if not got:
                raise ValueError("multipart answer ended inside a part")
            have += got


class _errors:  # noqa: N801 - used as a context manager, reads as a phrase
    """Turns the exceptions of requests and http.client into :class:`TransportError`."""

    def __init__(self, url: str, what: str) -> None:
        self.url, self.what = url, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, trace) -> bool:
        if exc is None or isinstance(exc, _Refused | GeneratorExit | TransportError):
            return False
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            code = exc.response.status_code
            raise TransportError(f"{self.url}: {self.what}: HTTP {code} {exc.response.reason}",
                                 retryable=code >= 500 or code == 429) from exc
        if isinstance(exc, requests.exceptions.Timeout):
            raise TransportError(f"{self.url}: {self.what}: timed out", retryable=True) from exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            raise TransportError(f"{self.url}: cannot reach the DICOMweb server "
                                 f"({first_line(exc)})", unreachable=True) from exc
        if isinstance(exc, requests.exceptions.RequestException | ValueError):
            raise TransportError(f"{self.url}: {self.what}: {first_line(exc)}",
                                 retryable=True) from exc
        # the standard library's, from WADO-RS retrieval
        if isinstance(exc, ConnectionRefusedError):
            raise TransportError(f"{self.url}: cannot reach the DICOMweb server "
                                 f"({first_line(exc)})", unreachable=True) from exc
        if isinstance(exc, TimeoutError):
            raise TransportError(f"{self.url}: {self.what}: timed out", retryable=True) from exc
        if isinstance(exc, http.client.HTTPException | OSError):
            raise TransportError(f"{self.url}: {self.what}: {first_line(exc)}",
                                 retryable=True) from exc
        return False
