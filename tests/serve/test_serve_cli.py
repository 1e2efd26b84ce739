"""``chestx serve`` options, and the size cap over a real socket (uvicorn)."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlparse

import pytest

MB = 2**20

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def test_serve_listens_on_localhost_by_default(run_cli, checkpoint, captured):
    code, _, err = run_cli("serve", "--checkpoint", checkpoint, "--max-upload-mb", "3")
    assert code == 0, err
    app, host, port = captured[0]
    assert (host, port) == ("127.0.0.1", 8000)
    assert "http://127.0.0.1:8000/" in err and "warning" not in err
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/api/model").json()["max_upload_bytes"] == 3 * MB


def test_serve_warns_when_exposed(run_cli, checkpoint, captured):
    code, _, err = run_cli("serve", "--checkpoint", checkpoint, "--host", "0.0.0.0",
                           "--port", "9123")
    assert code == 0 and captured[0][1:] == ("0.0.0.0", 9123)
    assert "warning: listening on 0.0.0.0" in err


def test_serve_bad_checkpoint(run_cli, tmp_path, captured):
    code, _, err = run_cli("serve", "--checkpoint", tmp_path / "none.pt")
    assert code == 2 and "none.pt" in err and not captured


def _raw_request(url: str, head: bytes, chunks, limit: int) -> tuple[bytes, int]:
    """Send ``head`` then ``chunks`` until the server answers; return (answer, bytes sent)."""
    address = urlparse(url)
    sent = 0
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0] or sent > limit:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(30)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    return answer, sent


def test_200_mb_uploads_are_refused_over_http(live_server):
    """Declared 200 MB: refused before any body byte; chunked 200 MB: cut off near the cap."""
    host = urlparse(live_server).netloc.encode()
    head = (b"POST /api/predict HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n")
    answer, _ = _raw_request(live_server, head + b"Content-Length: %d\r\n\r\n" % (200 * MB),
                             [], 0)
    assert answer.startswith(b"HTTP/1.1 413")

    chunk = b"\x00" * (256 * 1024)
    body = (b"%x\r\n" % len(chunk)) + chunk + b"\r\n"
    first = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\r\n"
    answer, sent = _raw_request(
        live_server, head + b"Transfer-Encoding: chunked\r\n\r\n"
        + (b"%x\r\n" % len(first)) + first + b"\r\n", (body for _ in range(800)), 200 * MB)
    assert answer.startswith(b"HTTP/1.1 413")
    print(f"chunked upload cut off after {sent / MB:.1f} MB")
    assert sent < 40 * MB  # the server stopped reading near the 1 MB cap, not at 200 MB
