"""DICOMweb: QIDO-RS queries with ``dicomweb-client``, WADO-RS retrieval streamed by hand.

Retrieval asks for a whole study or series per request (multipart/related WADO-RS, the stored
transfer syntax: ``transfer-syntax=*``) and reads the answer part by part as it streams, so
a study is never held in memory whole, and each part's Part 10 bytes go to disk as they came.
Every request says ``Accept-Encoding: identity``: pixel data barely compresses, and gzip costs
the server about 0.3 s of CPU per 8 MB radiograph and the client as much again to inflate it.
A server that refuses study- or series-level retrieval gets one request per instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from chestx.pacs.wire import (
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
        self.whole = True  # study / series per request until the server refuses it
        self.accept = ACCEPT_STORED

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
        base = f"{self.url}/studies"
        if request.level == "IMAGE" or not self.whole:
            yield from self._per_instance(request)
            return
        paths = [f"{base}/{s}" for s in request.studies] if request.level == "STUDY" else \
            [f"{base}/{request.studies[0]}/series/{s}" for s in request.series]
        for path in paths:
            try:
                yield from self._retrieve(path)
            except _Refused:
                self.whole = False  # this server: one instance per request from now on
                raise TransportError(f"{self.url}: study-level WADO-RS refused; asking "
                                     "per instance", retryable=True) from None

    def _per_instance(self, request: FetchRequest) -> Iterator[Received]:
        if request.level != "IMAGE":
            raise TransportError(f"{self.url}: no per-instance list for a "
                                 f"{request.describe()}", retryable=True)
        study, series = request.studies[0], request.series[0]
        for sop in request.sops:
            path = f"{self.url}/studies/{study}/series/{series}/instances/{sop}"
            try:
                yield from self._retrieve(path)
            except _Refused as exc:
                raise TransportError(f"{self.url}: WADO-RS instance {sop}: HTTP {exc}",
                                     retryable=str(exc).startswith("5")) from None

    def _retrieve(self, url: str) -> Iterator[Received]:
        """The instances of one WADO-RS answer, one multipart part at a time."""
        what = f"WADO-RS {url.removeprefix(self.url + '/')}"
        with _errors(self.url, what):
            response = self.session.get(url, headers={"Accept": self.accept}, stream=True)
            try:
                if response.status_code == 406 and self.accept == ACCEPT_STORED:
                    self.accept = ACCEPT_PLAIN  # the server transcodes: still one request
                    response.close()
                    yield from self._retrieve(url)
                    return
                if response.status_code in REFUSALS:
                    raise _Refused(f"{response.status_code} {response.reason}")
                response.raise_for_status()
                for part in iter_parts(response):
                    yield Received(part10_sop_uid(part), part)
            finally:
                response.close()

    def close(self) -> None:
        self.session.close()


class _Refused(Exception):
    """The server will not answer this kind of retrieve (its HTTP status)."""


def multipart_boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/related`` Content-Type (``None`` for a single part)."""
    if not content_type.lower().startswith("multipart/"):
        return None
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if not match:
        raise ValueError(f"multipart answer without a boundary ({content_type})")
    return match.group(1).encode("latin-1")


def iter_parts(response: requests.Response, chunk: int = CHUNK) -> Iterator[bytes]:
    """The bodies of a multipart answer as they stream in (RFC 2046); a single-part
    ``application/dicom`` answer is one body."""
    boundary = multipart_boundary(response.headers.get("Content-Type", ""))
    chunks = response.iter_content(chunk_size=chunk)
    if boundary is None:
        yield b"".join(chunks)
        return
    yield from split_parts(chunks, boundary)


def split_parts(chunks: Iterator[bytes], boundary: bytes) -> Iterator[bytes]:
    """Split a multipart byte stream (any chunking) at ``--boundary`` delimiters."""
    delimiter = b"\r\n--" + boundary
    buf = bytearray(b"\r\n")  # the first delimiter may start the stream without its CRLF
    start, scan = -1, 0  # start: where the current body begins (-1: before the first one)
    chunks = iter(chunks)
    while True:
        found = buf.find(delimiter, scan)
        if found < 0:
            more = next(chunks, None)
            if more is None:
                if start >= 0:
                    raise ValueError("multipart answer ended inside a part")
                return
            scan = max(0, len(buf) - len(delimiter) + 1)
            buf += more
            continue
        if start >= 0:
            yield bytes(buf[start:found])
        del buf[:found + len(delimiter)]
        while len(buf) < 2 or (buf[:2] != b"--" and b"\r\n\r\n" not in buf):
            more = next(chunks, None)
            if more is None:
                raise ValueError("multipart answer ended inside a part header")
            buf += more
        if buf[:2] == b"--":  # the close delimiter
            return
        start = buf.index(b"\r\n\r\n") + 4
        scan = start


class _errors:  # noqa: N801 - used as a context manager, reads as a phrase
    """Turns requests' exceptions into :class:`TransportError`."""

    def __init__(self, url: str, what: str) -> None:
        self.url, self.what = url, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, trace) -> bool:
        if exc is None or isinstance(exc, _Refused | GeneratorExit):
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
        return False
