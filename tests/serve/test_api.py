"""The JSON API: answers match the network run directly; bad uploads get clear refusals."""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from chestx.data.images import read_gray
from chestx.findings import FINDINGS
from chestx.inference.forward import registration_of
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap
from chestx.models import load_checkpoint
from chestx.models.checkpoint import finest_heatmap_size
from chestx.serve.app import STATIC_DIR
from conftest import reference_outputs

# starlette's TestClient still runs on httpx and says so on import; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

MB = 2**20


def _probabilities(body: dict) -> np.ndarray:
    return np.array([f["probability"] for f in body["findings"]])


def _post(client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post("/api/predict", files={"file": (name, data, content_type)})


def test_health_and_model(client):
    health = client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    info = client.get("/api/model").json()
    assert info["backbone"] == "resnet18"
    assert info["image_size"] == 64
    assert info["classes"] == list(FINDINGS)
    assert info["epoch"] == 2
    assert info["last_epoch_metrics"] == {"epoch": 2, "val_auc": 0.52, "val_loss": 0.8}
    assert info["training"] == {"data": "/data/nih_demo", "split": "official", "epochs": 2,
                                "seed": 0, "max_train_images": 40, "loss": "wce",
                                "best_auc": 0.55, "best_epoch": 1}  # not out/workers
    assert info["training_summary"] == (
        "resnet18 at 64 px; trained 2 epochs on nih_demo (official split); "
        "at most 40 training images; best val AUC 0.5500 (epoch 1)")
    assert info["max_upload_bytes"] == 1 * MB


def test_predict_png_matches_the_network(client, make_gray, encode_png, reference, checkpoint,
                                         reference_model):
    gray = make_gray(1, (120, 100))
    response = _post(client, "chest.png", encode_png(gray), "image/png")
    assert response.status_code == 200, response.text
    body = response.json()
    expected, _ = reference(gray)
    np.testing.assert_allclose(_probabilities(body), expected, atol=1e-5)
    assert (body["width"], body["height"], body["filename"]) == (100, 120, "chest.png")
    assert [f["name"] for f in body["findings"]] == list(FINDINGS)
    assert body["probabilities"] == {f["name"]: f["probability"] for f in body["findings"]}
    assert body["positive"] == [FINDINGS[i] for i in np.argsort(-expected)
                                if expected[i] >= 0.5]
    for finding in body["findings"]:  # the viewer gets boxes for every finding, inside the image
        assert finding["boxes"], finding["name"]
        for box in finding["boxes"]:
            assert 0 <= box["x"] and box["x"] + box["w"] <= 100 + 1e-6
            assert 0 <= box["y"] and box["y"] + box["h"] <= 120 + 1e-6

    # the image as decoded, and a heatmap whose hottest pixel lies where the network's does
    shown = np.asarray(Image.open(io.BytesIO(client.get(body["image_url"]).content)))
    np.testing.assert_array_equal(shown, gray)
    k = int(np.argmax(expected))
    png = client.get(body["findings"][k]["heatmap_url"])
    assert png.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(png.content)))
    assert rgba.shape == (120, 100, 4)
    # the app draws the maps of the network dilated to the finest side up to 32 (8 at 64 px),
    # each cell at its receptive field's centre: alpha saturates where the scaled map is
    # >= 0.85 / 1.1, the map's own maximum among those pixels
    finer = load_checkpoint(checkpoint, heatmap_size=finest_heatmap_size(reference_model))
    _, fine = reference_outputs(finer, gray)
    value = normalize_heatmap(upsample_heatmap(fine[k], (120, 100), registration_of(finer)),
                              top=1.0)
    saturated = rgba[..., 3] == 255
    assert saturated[np.unravel_index(np.argmax(value), value.shape)]
    assert value[saturated].min() >= 0.85 / 1.1 - 0.01


def test_predict_dicom_and_jpeg(client, tmp_path, make_gray, make_dicom, reference):
    gray = make_gray(2, (90, 90))
    dicom = make_dicom(tmp_path / "scan.dcm", gray).read_bytes()
    body = _post(client, "scan.dcm", dicom, "application/dicom").json()
    np.testing.assert_allclose(_probabilities(body), reference(gray)[0], atol=1e-5)
    assert (body["width"], body["height"]) == (90, 90)
    shown = np.asarray(Image.open(io.BytesIO(client.get(body["image_url"]).content)))
    np.testing.assert_array_equal(shown, gray)  # the browser gets the DICOM's pixels as PNG

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG", quality=95)
    decoded = np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    body = _post(client, "photo.jpg", buffer.getvalue(), "image/jpeg").json()
    np.testing.assert_allclose(_probabilities(body), reference(decoded)[0], atol=1e-5)


def test_raw_body_upload(client, make_gray, encode_png, reference):
    gray = make_gray(3)
    response = client.post("/api/predict?filename=raw.png", content=encode_png(gray),
                           headers={"content-type": "image/png"})
    assert response.status_code == 200 and response.json()["filename"] == "raw.png"
    np.testing.assert_allclose(_probabilities(response.json()), reference(gray)[0], atol=1e-5)


@pytest.mark.parametrize("name, data, status, words", [
    ("notes.txt", b"Findings: none. Impression: normal chest.", 415, "not a PNG, JPEG or DICOM"),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, 422, "fake.png"),
    ("cut.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, 422, "cut.jpg"),
    pytest.param("bad.dcm", b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00junk", 422, "bad.dcm",
                 marks=pytest.mark.filterwarnings("ignore:Expected explicit VR")),
    ("empty.png", b"", 422, "empty"),
])
def test_bad_uploads_are_refused_with_a_message(client, name, data, status, words):
    response = _post(client, name, data)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert words in detail
    assert "/tmp" not in detail and "chestx-serve-" not in detail  # no server paths leak


def test_request_without_file_field(client):
    response = client.post("/api/predict", files={"note": (None, b"hello")})  # multipart
    assert response.status_code == 422 and "'file'" in response.json()["detail"]
    response = client.post("/api/predict", data={"note": "hello"})  # a urlencoded form
    assert response.status_code == 415


def test_oversize_upload_declared_length(client):
    response = _post(client, "big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * MB))
    assert response.status_code == 413
    assert "limit is 1 MB" in response.json()["detail"]


def test_oversize_upload_is_refused_while_streaming(app):
    """A 200 MB chunked body (no Content-Length) is cut off after about the 1 MB cap."""
    chunk = 256 * 1024
    total = 200 * MB
    head = (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
    pulled = 0
    messages = []

    async def receive():
        nonlocal pulled
        body = head if pulled == 0 else b"\x00" * chunk
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": pulled < total}

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/predict",
             "raw_path": b"/api/predict", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"test"),
                         (b"content-type", b"multipart/form-data; boundary=xyz"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert pulled <= 1 * MB + 64 * 1024 + 2 * chunk  # stopped at the cap, not at 200 MB
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    assert "too large" in json.loads(body)["detail"]


def test_unknown_result_and_finding_are_404(client, make_gray, encode_png):
    assert client.get("/api/results/deadbeef/image.png").status_code == 404
    body = _post(client, "a.png", encode_png(make_gray(4))).json()
    assert client.get(f"/api/results/{body['id']}/heatmaps/14.png").status_code == 404
    assert client.get(f"/api/results/{body['id']}/heatmaps/13.png").status_code == 200


def test_uploads_leave_no_files_behind(client, tmp_path, monkeypatch, make_gray, encode_png):
    """An upload is decoded from a private folder in the temp dir, which is then removed."""
    import chestx.serve.uploads as uploads

    spool = tmp_path / "tmp"
    spool.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.chdir(work)
    read = []

    def spy(path):
        read.append(path)
        return read_gray(path)

    monkeypatch.setattr(uploads, "read_gray", spy)
    for name, data in [("ok.png", encode_png(make_gray(5))), ("bad.png", b"\x89PNG\r\n\x1a\nxx")]:
        _post(client, name, data)
    assert len(read) == 2 and all(path.parent.parent == spool for path in read)
    assert list(spool.iterdir()) == [] and list(work.iterdir()) == []


def test_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("index.html", "app.js", "app.css", "http.js", "theme.css"):
        text = (STATIC_DIR / name).read_text().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
        if name != "index.html":
            assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/docs").status_code == 404  # Swagger UI would need a CDN


def test_concurrent_requests_get_their_own_results(live_server, make_gray, encode_png,
                                                   reference_many):
    """20 different images posted at once over HTTP: each answer is that image's."""
    grays = [make_gray(100 + i, (64 + 4 * i, 80)) for i in range(20)]
    expected = list(reference_many(grays))
    assert min(np.abs(a - b).max() for i, a in enumerate(expected)
               for b in expected[i + 1:]) > 1e-4  # mixing results up would be detected

    def post(i):
        with httpx.Client(base_url=live_server, timeout=120) as http:
            files = {"file": (f"img{i}.png", encode_png(grays[i]), "image/png")}
            return http.post("/api/predict", files=files)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(20)))
    ids = set()
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["filename"] == f"img{i}.png" and body["height"] == 64 + 4 * i
        np.testing.assert_allclose(_probabilities(body), expected[i], atol=1e-5)
        ids.add(body["id"])
    assert len(ids) == 20
