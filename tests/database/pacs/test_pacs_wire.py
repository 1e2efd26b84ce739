"""What goes over the wire, against small loopback peers that record it: the DICOMweb
requests (no content coding asked, one WADO-RS request per study, per-instance only when the
server refuses that) and the DIMSE associations (none idle, at most the cap, a busy peer's
rejection retried)."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

import chestx.synth.dicoms as samples
from chestx.database.pacs.retrieve import RetrieveSettings, Source, retrieve


def make_studies(root: Path, studies: int = 3, per_study: int = 2) -> dict[str, list[bytes]]:
    """StudyInstanceUID -> the Part 10 bytes of its DX images (one series each)."""
    rng = np.random.default_rng(1)
    out: dict[str, list[bytes]] = {}
    for s in range(studies):
        uid, series = samples.generate_uid(), samples.generate_uid()
        for i in range(per_study):
            path = samples.write_dicom(root / f"{s}_{i}.dcm", rng.integers(0, 4096, (16, 16))
                                       .astype(np.uint16), patient_id=f"P{s}", study_uid=uid,
                                       extra={"SeriesInstanceUID": series,
                                              "InstanceNumber": i + 1})
            out.setdefault(uid, []).append(path.read_bytes())
    return out


def answer_of(blob_or_ds: bytes | Dataset) -> Dataset:
    """The query answer a PACS gives for an instance (with its series keys)."""
    ds = blob_or_ds if isinstance(blob_or_ds, Dataset) else \
        pydicom.dcmread(io.BytesIO(blob_or_ds), stop_before_pixels=True)
    answer = Dataset()
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
                    "Modality", "BodyPartExamined", "ViewPosition", "PatientID",
                    "InstanceNumber"):
        setattr(answer, keyword, ds.get(keyword))
    return answer


# ---------------------------------------------------------------------------- DICOMweb
class DicomwebPeer(ThreadingHTTPServer):
    """QIDO-RS instance search and WADO-RS study / instance retrieval of ``studies``;
    ``requests`` records (path, headers); ``refuse_studies`` answers 400 to a study-level
    retrieve."""

    def __init__(self, studies: dict[str, list[bytes]], refuse_studies: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.studies, self.refuse_studies = studies, refuse_studies
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.by_sop = {str(answer_of(b).SOPInstanceUID): b for bl in studies.values()
                       for b in bl}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/dicom-web"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        peer: DicomwebPeer = self.server
        path = self.path.split("?")[0].removeprefix("/dicom-web/studies/").split("/")
        peer.requests.append((self.path, dict(self.headers)))
        if path[-1] == "instances":  # QIDO-RS, in a study or for a list of studies
            asked = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            uids = path[:1] if len(path) == 2 else asked["StudyInstanceUID"][0].split(",")
            body = json.dumps([answer_of(b).to_json_dict() for u in uids
                               for b in peer.studies[u]])
            return self._send(200, "application/dicom+json", body.encode())
        if len(path) == 1 and peer.refuse_studies:
            return self._send(400, "text/plain", b"study-level retrieve not supported")
        parts = peer.studies[path[0]] if len(path) == 1 else [peer.by_sop[path[-1]]]
        boundary = uuid.uuid4().hex
        body = b""
        for n, part in enumerate(parts):  # the second part says no Content-Length
            length = f"Content-Length: {len(part)}\r\n" if n % 2 == 0 else ""
            body += (f"--{boundary}\r\nContent-Type: application/dicom\r\n{length}\r\n"
                     .encode() + part + b"\r\n")
        body += f"--{boundary}--\r\n".encode()
        self._send(200, f'multipart/related; type="application/dicom"; boundary={boundary}',
                   body)

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def serve():
    servers = []

    def start(server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def csv_of(tmp_path: Path, uids) -> list[dict[str, str]]:
    return [{"StudyInstanceUID": u, "PatientID": ""} for u in uids]


def files_by_sop(out: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in out.rglob("[!.]*.dcm")}


@pytest.mark.parametrize("refuse", [False, True])
def test_dicomweb_asks_no_content_coding_one_request_per_study_and_writes_bytes_as_sent(
        tmp_path, serve, refuse):
    studies = make_studies(tmp_path / "src")
    peer = serve(DicomwebPeer(studies, refuse_studies=refuse))
    settings = RetrieveSettings(max_concurrent=2, progress=False, backoff=0)
    summary, _, _ = retrieve(csv_of(tmp_path, studies), tmp_path / "DL",
                             Source(dicomweb=peer.url), settings)
    assert summary.studies_done == 3 and summary.fetched == 6 and not summary.failed
    # every file is the served Part 10 stream, byte for byte
    assert files_by_sop(tmp_path / "DL") == {sop: blob for sop, blob in peer.by_sop.items()}
    assert peer.requests and all(h.get("Accept-Encoding") == "identity"
                                 for _, h in peer.requests)
    wado = [(p, h) for p, h in peer.requests if "/instances?" not in p and
            not p.endswith("/instances")]
    assert all("transfer-syntax=*" in h["Accept"] for _, h in wado)
    qido = [p for p, _ in peer.requests if "/instances?" in p or p.endswith("/instances")]
    assert len(qido) == 1  # one query for the 3 studies, series keys included
    study_level = [p for p, _ in wado if p.count("/") == 3]
    per_instance = [p for p, _ in wado if "/instances/" in p]
    if refuse:  # refused once per connection (2), then one request per instance
        assert 1 <= len(study_level) <= 2 and len(per_instance) == 6
    else:
        assert len(study_level) == 3 and per_instance == []


# ---------------------------------------------------------------------------- DIMSE
class DimsePeer:
    """A pynetdicom Query/Retrieve SCP (C-FIND, C-GET) over ``studies`` that records every
    association: when it opened, each request's start and end, when it was released."""

    def __init__(self, studies: dict[str, list[bytes]], max_associations: int = 10,
                 get_delay: float = 0.0) -> None:
        self.studies, self.get_delay = studies, get_delay
        self.datasets = {uid: [pydicom.dcmread(io.BytesIO(b)) for b in blobs]
                         for uid, blobs in studies.items()}
        self.log: dict[int, dict] = {}
        self.rejected = 0
        self.open_now = self.most_open = 0
        self._lock = threading.Lock()
        ae = AE("PEER")
        ae.maximum_associations = max_associations
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        for context in StoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, scu_role=False, scp_role=True)
        handlers = [(evt.EVT_ESTABLISHED, self._opened), (evt.EVT_RELEASED, self._closed),
                    (evt.EVT_ABORTED, self._closed), (evt.EVT_REJECTED, self._rejected),
                    (evt.EVT_C_FIND, self._find), (evt.EVT_C_GET, self._get)]
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
        self.port = self.server.server_address[1]

    def _opened(self, event) -> None:
        with self._lock:
            self.log[id(event.assoc)] = {"open": time.monotonic(), "requests": []}
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)

    def _closed(self, event) -> None:
        with self._lock:
            entry = self.log.get(id(event.assoc))
            if entry is not None and "close" not in entry:
                entry["close"] = time.monotonic()
                entry["released"] = event.event.name == "EVT_RELEASED"
                self.open_now -= 1

    def _rejected(self, event) -> None:
        with self._lock:
            self.rejected += 1

    def _request(self, event, kind: str):
        entry = self.log[id(event.assoc)]
        entry["requests"].append([kind, time.monotonic(), None])
        return entry["requests"][-1]

    def _find(self, event):
        record = self._request(event, "find")
        uids = event.identifier.StudyInstanceUID
        for uid in [uids] if isinstance(uids, str) else list(uids):
            for ds in self.datasets.get(str(uid), []):
                yield 0xFF00, answer_of(ds)
        record[2] = time.monotonic()

    def _get(self, event):
        record = self._request(event, "get")
        uids = event.identifier.StudyInstanceUID
        uids = [uids] if isinstance(uids, str) else list(uids)
        sending = [ds for uid in uids for ds in self.datasets[str(uid)]]
        time.sleep(self.get_delay)  # a PACS reading its disk: the job outlasts any one request
        yield len(sending)
        for ds in sending:
            yield 0xFF00, ds
        record[2] = time.monotonic()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("concurrent", [1, 4])
def test_dimse_associations_are_never_idle_and_stay_under_the_cap(tmp_path, concurrent):
    studies = make_studies(tmp_path / "src", studies=6)
    peer = DimsePeer(studies, get_delay=0.8)  # each C-GET outlasts the idle limit
    try:
        settings = RetrieveSettings(max_concurrent=concurrent, progress=False)
        summary, _, _ = retrieve(csv_of(tmp_path, studies), tmp_path / "DL",
                                 Source(dimse=f"PEER@127.0.0.1:{peer.port}",
                                        max_associations=2), settings)
    finally:
        peer.stop()
    assert summary.studies_done == 6 and summary.fetched == 12
    assert peer.most_open <= min(concurrent, 2)
    finds = [r for e in peer.log.values() for r in e["requests"] if r[0] == "find"]
    gets = [r for e in peer.log.values() for r in e["requests"] if r[0] == "get"]
    assert len(finds) == 1  # one C-FIND for the 6 studies (a UID list)
    # studies in flight share a C-GET: 4 in flight on 2 associations, 2 studies each
    assert len(gets) == {1: 6, 4: 3}[concurrent]
    for entry in peer.log.values():
        assert entry.get("released"), "every association is released, none left open"
        marks = [entry["open"]] + [t for r in entry["requests"] for t in r[1:]] + \
            [entry["close"]]
        gaps = [b - a for a, b in zip(marks[0::2], marks[1::2], strict=True)]
        assert max(gaps, default=0) < 0.5, gaps  # idle only between back-to-back requests


def test_a_busy_peer_rejecting_associations_is_asked_again(tmp_path):
    studies = make_studies(tmp_path / "src", studies=4)
    peer = DimsePeer(studies, max_associations=1)
    try:
        settings = RetrieveSettings(max_concurrent=2, progress=False, backoff=0.05)
        summary, _, _ = retrieve(csv_of(tmp_path, studies), tmp_path / "DL",
                                 Source(dimse=f"PEER@127.0.0.1:{peer.port}",
                                        max_associations=2), settings)
    finally:
        peer.stop()
    assert peer.rejected >= 1  # our second association met the peer's limit ...
    assert summary.studies_done == 4 and summary.fetched == 8 and not summary.failed
