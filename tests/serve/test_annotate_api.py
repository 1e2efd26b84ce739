"""The annotation server's JSON API through FastAPI's TestClient: every route, good and bad
input. Bad input answers 4xx and leaves every file of the dataset folder as it was."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import files_of, make_dataset

from chestx.data.bbox_csv import read_bbox_list
from chestx.data.images import read_gray
from chestx.data.voc import read_voc

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

MASS = "00000002_000.png"


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "nih", size=256)


def make_client(dataset, checkpoint=None):
    from fastapi.testclient import TestClient

    from chestx.serve.annotate import load_annotate_app

    app, _ = load_annotate_app(dataset, checkpoint=checkpoint, annotator="alice")
    return TestClient(app)


@pytest.fixture
def client(dataset):
    with make_client(dataset) as test_client:
        yield test_client


def new_box(client, image=MASS, **fields):
    body = {"finding": "Mass", "x": 10, "y": 20, "w": 30, "h": 40} | fields
    return client.post(f"/api/images/{image}/boxes", json=body)


def test_page_and_config(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="annotate-image"' in page.text
    assert '<label for="finding">Finding</label>' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/annotate.js").status_code == 200
    config = client.get("/api/config").json()
    assert config["annotator"] == "alice" and config["images"] == 4
    assert config["findings"][3] == "Infiltration" and config["splits"] == ["test", "train_val"]
    assert config["proposals"] is False


def test_work_list_filters(client):
    def names(**query) -> list[str]:
        return [r["image"] for r in client.get("/api/images", params=query).json()["images"]]

    assert names() == ["00000001_000.png", MASS, "00000003_000.png", "00000003_001.png"]
    assert names(finding="Effusion") == ["00000001_000.png"]
    assert names(finding="pleural effusion") == ["00000001_000.png"]  # an alias of Effusion
    assert names(split="test") == ["00000003_001.png"]
    assert new_box(client).status_code == 201
    assert MASS not in names(unboxed="true") and len(names(unboxed="true")) == 3
    rows = client.get("/api/images").json()["images"]
    assert [r["boxes"] for r in rows] == [0, 1, 0, 0] and rows[0]["labels"] == [
        "Cardiomegaly", "Effusion"]
    assert client.get("/api/images", params={"finding": "Broken bone"}).status_code == 422
    assert client.get("/api/images", params={"split": "holdout"}).status_code == 422


def test_image_detail_and_pixels(client, dataset):
    detail = client.get(f"/api/images/{MASS}").json()
    assert detail == {"image": MASS, "width": 256, "height": 256, "labels": ["Mass"],
                      "boxes": []}
    png = client.get(f"/api/images/{MASS}/pixels.png")
    assert png.status_code == 200 and png.content == (dataset / "images" / MASS).read_bytes()
    for route in ("", "/pixels.png", "/proposals"):
        answer = client.get(f"/api/images/nothere.png{route}")
        assert answer.status_code == 404 and "nothere.png" in answer.json()["detail"]


def test_pixels_of_a_16_bit_image_are_its_8_bit_rendering(tmp_path):
    wide = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 21).astype(np.uint16)
    data = make_dataset(tmp_path / "nih", size=64)
    Image.fromarray(wide).save(data / "images" / MASS)
    with make_client(data) as client:
        assert client.get(f"/api/images/{MASS}").json()["width"] == 64
        shown = client.get(f"/api/images/{MASS}/pixels.png")
        pixels = np.asarray(Image.open(io.BytesIO(shown.content)))
    assert np.array_equal(pixels, read_gray(data / "images" / MASS))


def test_create_move_delete_write_xml_and_csv(client, dataset):
    made = new_box(client, annotator="bob")
    assert made.status_code == 201
    box = made.json()
    assert box["id"] == "00000002_000_Mass_1" and box["version"] == 1 and box["annotator"] == "bob"
    xml = dataset / "annotations" / "00000002_000_Mass_1.xml"
    saved = read_voc(xml)
    assert (*saved.box.xywh, saved.width) == (10, 20, 30, 40, 256)
    assert read_bbox_list(dataset).values.tolist() == [[MASS, "Mass", 10, 20, 30, 40]]

    second = new_box(client, x=100.25).json()
    assert second["k"] == 2 and second["annotator"] == "alice"  # the server's default name

    moved = client.put(f"/api/boxes/{box['id']}", json={
        "x": 50.5, "y": 60, "w": 30, "h": 40, "version": 1, "uid": box["uid"]})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    assert read_voc(xml).box.x == 50.5
    gone = client.delete(f"/api/boxes/{second['id']}",
                         params={"version": 1, "uid": second["uid"]})
    assert gone.status_code == 200 and gone.json()["id"] == second["id"]
    assert read_bbox_list(dataset).values.tolist() == [[MASS, "Mass", 50.5, 60, 30, 40]]
    assert client.get(f"/api/images/{MASS}").json()["boxes"][0]["version"] == 2


@pytest.mark.parametrize("image, fields, status, words", [
    ("nothere.png", {}, 404, "nothere.png"),
    (MASS, {"x": 240}, 422, "leaves the 256x256 image"),           # 240 + 30 > 256
    (MASS, {"y": -1}, 422, "leaves"),
    (MASS, {"w": -5}, 422, "must be positive"),
    (MASS, {"h": 0}, 422, "must be positive"),
    (MASS, {"finding": "Fracture"}, 422, "unknown finding 'Fracture'"),
    (MASS, {"x": "left"}, 422, ""),
    (MASS, {"x": float("nan")}, 422, ""),
])
def test_bad_new_boxes_are_refused_and_nothing_is_written(client, dataset, image, fields,
                                                          status, words):
    before = files_of(dataset)
    if isinstance(fields.get("x"), float):  # NaN is not JSON: send it as Python's json does
        answer = client.post(f"/api/images/{image}/boxes", content=(
            '{"finding": "Mass", "x": NaN, "y": 1, "w": 2, "h": 3}'),
            headers={"Content-Type": "application/json"})
    else:
        answer = new_box(client, image=image, **fields)
    assert answer.status_code == status
    assert words in str(answer.json()["detail"])
    assert files_of(dataset) == before


def test_missing_fields_are_refused(client, dataset):
    before = files_of(dataset)
    answer = client.post(f"/api/images/{MASS}/boxes", json={"finding": "Mass", "x": 1})
    assert answer.status_code == 422 and files_of(dataset) == before


def test_bad_edits_are_refused_and_nothing_is_written(client, dataset):
    box = new_box(client).json()
    before = files_of(dataset)
    url = f"/api/boxes/{box['id']}"
    edit = {"x": 1, "y": 1, "w": 10, "h": 10, "version": 1, "uid": box["uid"]}
    assert client.put(url, json=edit | {"w": 300}).status_code == 422
    assert client.put(url, json=edit | {"h": -3}).status_code == 422
    stale = client.put(url, json=edit | {"version": 0})
    assert stale.status_code == 409 and "changed meanwhile by alice" in stale.json()["detail"]
    assert client.put(url, json=edit | {"uid": "f" * 32}).status_code == 409
    unknown = client.put("/api/boxes/00000002_000_Mass_7", json=edit)
    assert unknown.status_code == 409 and "deleted meanwhile" in unknown.json()["detail"]
    assert client.put(url, json={"x": 1}).status_code == 422
    assert client.put("/api/boxes/..", json=edit).status_code in (404, 422)
    assert client.put("/api/boxes/.hidden_1", json=edit).status_code == 422
    assert client.delete("/api/boxes/a b_1", params={"version": 1, "uid": "u"}).status_code == 422
    assert client.delete(url, params={"version": 5, "uid": box["uid"]}).status_code == 409
    assert client.delete(url).status_code == 422  # version and uid are required
    assert files_of(dataset) == before


def test_a_box_deleted_and_redrawn_is_not_overwritten_by_a_stale_tab(client, dataset):
    """The redrawn box gets the same file name and version 1 again, but another uid."""
    old = new_box(client).json()
    client.delete(f"/api/boxes/{old['id']}", params={"version": 1, "uid": old["uid"]})
    redrawn = new_box(client, x=100).json()
    assert (redrawn["id"], redrawn["version"]) == (old["id"], 1)
    stale = client.put(f"/api/boxes/{old['id']}", json={
        "x": 1, "y": 1, "w": 10, "h": 10, "version": 1, "uid": old["uid"]})
    assert stale.status_code == 409
    assert read_bbox_list(dataset)["x"].tolist() == [100]


def test_concurrent_saves_lose_nothing(client, dataset):
    answers = []

    def draw(i: int) -> None:
        answers.append(new_box(client, x=i, y=i).status_code)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 16
    files = sorted((dataset / "annotations").glob("*.xml"))
    assert [f.name for f in files] == sorted(f"00000002_000_Mass_{k}.xml" for k in range(1, 17))
    assert sorted(read_bbox_list(dataset)["x"]) == list(range(16))


def test_proposals_are_the_predictors_boxes_for_the_image_labels(dataset, checkpoint):
    from chestx.inference.predictor import Predictor

    with make_client(dataset, checkpoint) as client:
        assert client.get("/api/config").json()["proposals"] is True
        body = client.get("/api/images/00000001_000.png/proposals").json()
        none = client.get("/api/images/00000003_000.png/proposals").json()
    expected = Predictor.from_checkpoint(checkpoint, boxes_for="all").predict_grays(
        [read_gray(dataset / "images" / "00000001_000.png")], ["x"])[0]
    wanted = [b for b in expected.boxes if b.finding in ("Cardiomegaly", "Effusion")]
    assert [(p["finding"], p["x"], p["y"], p["w"], p["h"]) for p in body["proposals"]] == [
        (b.finding, b.x, b.y, b.w, b.h) for b in wanted]
    assert wanted and none["proposals"] == []  # a No Finding image has nothing to propose


def test_without_a_model_proposals_are_404(client):
    answer = client.get(f"/api/images/{MASS}/proposals")
    assert answer.status_code == 404 and "--checkpoint" in answer.json()["detail"]


def test_a_disk_that_refuses_the_write_is_a_clear_500(client, dataset, monkeypatch):
    import chestx.data.voc as voc

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(voc, "atomic_write_text", full_disk)  # the instance file's writer
    answer = new_box(client)
    assert answer.status_code == 500
    assert answer.json()["detail"] == "could not save ([Errno 28] No space left on device)"
    assert not list((dataset / "annotations").glob("*.xml"))
