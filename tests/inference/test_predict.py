"""``chestx predict`` and :mod:`chestx.inference.predictor`: batches, bad files skipped, outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from chestx.data.tensors import to_tensor
from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.inference.predictor import Predictor, collect_images, predict_paths
from chestx.models import build_model, load_checkpoint, save_checkpoint

SIZE = 64


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("run") / "best.pt"
    return save_checkpoint(path, build_model("resnet18", image_size=SIZE), epoch=1)


@pytest.fixture(scope="module")
def model(checkpoint):
    return load_checkpoint(checkpoint)


def gray_image(seed: int, shape=(80, 72)) -> np.ndarray:
    """Random blocks spanning 0..255 (so DICOM min-max stretching leaves them unchanged)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8)).astype(np.uint8)
    image = np.asarray(Image.fromarray(small).resize(shape[::-1], Image.Resampling.NEAREST))
    image = image.copy()
    image[0, 0], image[-1, -1] = 0, 255
    return image


def direct(model, gray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(to_tensor(gray, SIZE)[None])
    return torch.sigmoid(logits)[0].numpy(), heatmaps[0].numpy()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, make_dicom):
    """3 PNGs (one in a subfolder), a DICOM, a text file and a corrupt PNG."""
    images = tmp_path_factory.mktemp("inputs") / "images"
    (images / "sub").mkdir(parents=True)
    grays = {f"p{i}.png": gray_image(i, (80 + 8 * i, 72)) for i in range(3)}
    for name, gray in grays.items():
        Image.fromarray(gray).save(images / ("sub" if name == "p2.png" else "") / name)
    grays["scan.dcm"] = gray_image(9, (70, 70))
    make_dicom(images / "scan.dcm", grays["scan.dcm"])
    (images / "notes.txt").write_text("not an image")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return images, grays


@pytest.fixture(scope="module")
def folder_run(model, folder, tmp_path_factory):
    """The folder predicted once in batches of 2, with outputs written."""
    images, _ = folder
    out = tmp_path_factory.mktemp("predict") / "out"
    return predict_paths(Predictor(model, batch_size=2), [images], out_dir=out,
                         progress=False, keep_heatmaps=True), out


def test_predictions_match_the_network(model, folder, folder_run):
    images, grays = folder
    run, _ = folder_run
    by_name = {p.image: p for p in run.predictions}
    assert set(by_name) == set(grays)  # notes.txt is not picked from a folder
    assert [path for path, _ in run.skipped] == [str(images / "broken.png")]
    assert "broken.png" in run.skipped[0][1]
    for name, gray in grays.items():
        probabilities, heatmaps = direct(model, gray)
        np.testing.assert_allclose(by_name[name].probabilities, probabilities, atol=1e-5)
        np.testing.assert_allclose(by_name[name].heatmaps, heatmaps, atol=1e-5)
        assert by_name[name].image_size == gray.shape


def test_batching_does_not_change_results(model, folder, folder_run):
    images, _ = folder
    one = predict_paths(Predictor(model, batch_size=1), [images], progress=False)
    for a, b in zip(one.predictions, folder_run[0].predictions, strict=True):
        assert a.image == b.image
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)


def test_boxes_only_for_positive_findings(model, folder):
    images, grays = folder
    gray = grays["p0.png"]
    probabilities, _ = direct(model, gray)
    threshold = float(np.sort(probabilities)[-3])  # exactly the top 3 are positive
    prediction = Predictor(model, threshold=threshold).predict_grays([gray], ["p0.png"])[0]
    top3 = [FINDINGS[i] for i in np.argsort(-probabilities)[:3]]
    assert prediction.positives == top3
    assert {box.finding for box in prediction.boxes} <= set(top3)
    height, width = gray.shape
    for box in prediction.boxes:
        assert 0 <= box.x and box.x + box.w <= width and 0 <= box.y and box.y + box.h <= height
    nothing = Predictor(model, threshold=1.0).predict_grays([gray], ["p0.png"])[0]
    assert nothing.boxes == () and nothing.positives == []
    everything = Predictor(model, threshold=1.0, boxes_for="all").predict_grays([gray], ["x"])[0]
    assert {box.finding for box in everything.boxes} == set(FINDINGS)


def test_outputs_written(model, folder, folder_run):
    _, grays = folder
    run, out = folder_run
    table = pd.read_csv(out / "predictions.csv")
    assert list(table.columns) == ["Image Index", "Path", "Finding Labels", *FINDINGS,
                                   "ood_score", "out_of_distribution", "ood_reason"]
    assert sorted(table["Image Index"]) == sorted(grays)
    row = table.set_index("Image Index").loc["p1.png"]
    np.testing.assert_allclose(row[list(FINDINGS)].to_numpy(float),
                               direct(model, grays["p1.png"])[0], atol=1e-5)
    positives = [p for p in run.predictions if p.positives]
    assert positives  # so that boxes.csv is not trivially empty
    boxes = pd.read_csv(out / "boxes.csv")
    assert list(boxes.columns) == ["Image Index", "Finding Label", "x", "y", "w", "h", "score"]
    assert len(boxes) == sum(len(p.boxes) for p in run.predictions) > 0
    assert set(boxes["Finding Label"]) <= {f for p in positives for f in p.positives}
    for prediction in run.predictions:  # one overlay per positive finding, or the top one
        wanted = prediction.positives or [FINDINGS[int(np.argmax(prediction.probabilities))]]
        stem = prediction.image.rsplit(".", 1)[0]
        found = sorted(path.name for path in (out / "overlays").glob(f"{stem}__*.png"))
        assert found == sorted(f"{stem}__{finding}.png" for finding in wanted)
        height, width = prediction.image_size
        picture = Image.open(out / "overlays" / found[0])
        scale = -(-512 // min(height, width))  # small images are drawn enlarged
        assert picture.size == (2 * width * scale, height * scale)  # image + heatmap panel
    assert not list(out.rglob(".*"))  # no temp files left behind


def test_heatmaps_are_dropped_unless_kept(model, folder):
    images, _ = folder
    run = predict_paths(Predictor(model), [images / "p0.png"], progress=False)
    assert run.predictions[0].heatmaps is None and run.predictions[0].probabilities.shape == (14,)


def test_interrupted_run_resumes(model, folder, folder_run, tmp_path, monkeypatch):
    images, grays = folder
    out = tmp_path / "out"
    real_iter = Predictor.iter_files

    def stop_after_two(self, paths, progress=False):
        done = 0
        for item in real_iter(self, paths, progress):
            if done == 2:
                raise KeyboardInterrupt
            done += item.error is None
            yield item

    monkeypatch.setattr(Predictor, "iter_files", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        predict_paths(Predictor(model), [images], out_dir=out, progress=False)
    first = pd.read_csv(out / "predictions.csv")
    assert len(first) == 2  # saved on the way out

    monkeypatch.setattr(Predictor, "iter_files", real_iter)
    run = predict_paths(Predictor(model), [images], out_dir=out, progress=False, resume=True)
    assert run.resumed == 2 and len(run.predictions) == len(grays) - 2
    table = pd.read_csv(out / "predictions.csv")
    assert sorted(table["Image Index"]) == sorted(grays)
    pd.testing.assert_frame_equal(table.iloc[:2], first)  # the earlier rows are kept as they were
    whole = pd.read_csv(folder_run[1] / "predictions.csv")  # same as one uninterrupted run
    pd.testing.assert_frame_equal(table.sort_values("Path").reset_index(drop=True),
                                  whole.sort_values("Path").reset_index(drop=True))
    assert len(pd.read_csv(out / "boxes.csv")) == len(pd.read_csv(folder_run[1] / "boxes.csv"))

    again = predict_paths(Predictor(model), [images], out_dir=out, progress=False, resume=True)
    assert again.predictions == [] and again.resumed == len(grays)


def test_resume_refuses_a_foreign_table(model, folder, tmp_path):
    images, _ = folder
    (tmp_path / "predictions.csv").write_text("Image Index,Path,Score\nx.png,x.png,0.5\n")
    with pytest.raises(ChestxError, match="predictions.csv"):
        predict_paths(Predictor(model), [images], out_dir=tmp_path, resume=True, progress=False)


def test_same_name_in_two_folders_gets_two_overlays(model, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        Image.fromarray(gray_image(3)).save(tmp_path / sub / "x.png")
    out = tmp_path / "out"
    predict_paths(Predictor(model, threshold=1.0), [tmp_path / "a", tmp_path / "b"],
                  out_dir=out, progress=False)
    assert len(list((out / "overlays").glob("x*.png"))) == 2


def test_collect_images_and_all_bad(tmp_path, model):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "A.PNG").write_bytes(b"x")
    (tmp_path / "d" / "b.txt").write_bytes(b"x")
    missing = tmp_path / "missing.png"
    assert collect_images([tmp_path / "d", missing]) == [tmp_path / "d" / "A.PNG", missing]
    with pytest.raises(ChestxError, match="none of the 2 inputs"):
        predict_paths(Predictor(model), [tmp_path / "d", missing], progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ChestxError, match="no images found"):
        predict_paths(Predictor(model), [empty], progress=False)


def test_cli_json_and_skips(run_cli, checkpoint, folder, model):
    images, grays = folder
    code, out, err = run_cli("predict", "--checkpoint", checkpoint, images / "p0.png",
                             images / "scan.dcm", images / "notes.txt", "--json", "-q")
    assert code == 0, err
    result = json.loads(out)  # stdout is pure JSON
    names = [p["image"] for p in result["predictions"]]
    assert names == ["p0.png", "scan.dcm"]
    dicom = result["predictions"][1]
    np.testing.assert_allclose([f["probability"] for f in dicom["findings"]],
                               direct(model, grays["scan.dcm"])[0], atol=1e-5)
    assert (dicom["width"], dicom["height"]) == (70, 70)
    assert [s["path"] for s in result["skipped"]] == [str(images / "notes.txt")]
    assert "skipped" in err and "notes.txt" in err


def test_cli_text_output_and_errors(run_cli, checkpoint, folder, tmp_path):
    images, _ = folder
    code, out, err = run_cli("predict", "--checkpoint", checkpoint, images / "p0.png",
                             "--threshold", "0")
    assert code == 0
    assert out.startswith("p0.png: ") and "(" in out  # every finding positive at threshold 0
    code, out, err = run_cli("predict", "--checkpoint", checkpoint, images / "notes.txt")
    assert code == 2 and err.startswith("error: none of the 1 inputs")
    assert "Traceback" not in err
    code, _, err = run_cli("predict", "--checkpoint", tmp_path / "nope.pt", images)
    assert code == 2 and "nope.pt" in err
    code, _, err = run_cli("predict", "--checkpoint", checkpoint, images, "--resume")
    assert code == 2 and "--resume needs --out" in err
