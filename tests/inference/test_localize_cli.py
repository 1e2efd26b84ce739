"""``chestx localize`` (the same command as ``chestx predict``) on PNG and DICOM files with a
tiny random-init checkpoint: the one predictions.csv schema and the one overlay naming."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from chestx.findings import FINDINGS


def test_localize_png_and_dicom_writes_overlays_boxes_and_predictions(
        tiny_checkpoint, make_blob, make_dicom, tmp_path, run_cli):
    png = tmp_path / "a.png"
    Image.fromarray(make_blob((48, 64), (8, 8, 16, 16))).save(png)
    dcm = make_dicom(tmp_path / "b.dcm", make_blob((40, 40), (20, 4, 10, 10)))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "out"
    code, stdout, err = run_cli("localize", "--checkpoint", tiny_checkpoint, png, dcm, bad,
                                "--out", out, "--threshold", "0", "--method", "paper", "-q")
    assert code == 0, err
    assert "skipped " in err and "broken.png" in err
    assert "2 images predicted, 1 skipped" in err + stdout
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["Image Index", "Path", "Finding Labels", *FINDINGS,
                                         "ood_score", "out_of_distribution", "ood_reason"]
    assert list(predictions["Image Index"]) == ["a.png", "b.dcm"]
    assert list(predictions["Path"]) == [str(png), str(dcm)]
    assert predictions[list(FINDINGS)].stack().between(0, 1).all()
    # threshold 0: every finding is positive, listed most probable first
    for _, row in predictions.iterrows():
        listed = row["Finding Labels"].split("|")
        assert sorted(listed) == sorted(FINDINGS)
        assert list(row[listed]) == sorted(row[listed], reverse=True)
    boxes = pd.read_csv(out / "boxes.csv")
    assert list(boxes.columns) == ["Image Index", "Finding Label", "x", "y", "w", "h", "score"]
    # threshold 0: every finding of both images is boxed (at least one box per heatmap
    # that is not constant) and drawn, in each image's own pixels
    assert set(boxes["Finding Label"]) <= set(FINDINGS)
    a, b = boxes[boxes["Image Index"] == "a.png"], boxes[boxes["Image Index"] == "b.dcm"]
    assert (a["x"] + a["w"] <= 64 + 1e-6).all() and (a["y"] + a["h"] <= 48 + 1e-6).all()
    assert (b["x"] + b["w"] <= 40 + 1e-6).all() and (b["y"] + b["h"] <= 40 + 1e-6).all()
    # drawn enlarged to a shorter side of at least 512: 48 px x 11, 40 px x 13; two panels
    for stem, size in (("a", (2 * 64 * 11, 48 * 11)), ("b", (2 * 40 * 13, 40 * 13))):
        for finding in FINDINGS:
            with Image.open(out / "overlays" / f"{stem}__{finding}.png") as overlay:
                assert overlay.size == size and overlay.mode == "RGB"


def test_threshold_one_boxes_nothing_and_draws_the_top_finding(tiny_checkpoint, make_blob,
                                                                tmp_path, run_cli):
    png = tmp_path / "a.png"
    Image.fromarray(make_blob((32, 32), (8, 8, 8, 8))).save(png)
    code, _, err = run_cli("localize", "--checkpoint", tiny_checkpoint, png, "--out",
                           tmp_path / "o", "--threshold", "1", "-q")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "o" / "boxes.csv").empty
    predictions = pd.read_csv(tmp_path / "o" / "predictions.csv")
    assert predictions["Finding Labels"].tolist() == ["No Finding"]
    top = predictions[list(FINDINGS)].iloc[0].astype(float).idxmax()
    assert [p.name for p in (tmp_path / "o" / "overlays").iterdir()] == [f"a__{top}.png"]


def test_ground_truth_is_drawn_blue(tiny_checkpoint, make_blob, tmp_path, run_cli):
    png = tmp_path / "00000001_000.png"
    Image.fromarray(make_blob((64, 64), (8, 8, 16, 16))).save(png)
    gt = tmp_path / "BBox_List_2017.csv"
    gt.write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
                  "00000001_000.png,Mass,30,30,20,20\n")
    code, _, err = run_cli("localize", "--checkpoint", tiny_checkpoint, png, "--out",
                           tmp_path / "o", "--threshold", "0", "--gt", gt, "-q")
    assert code == 0, err
    # the 64-px image is drawn 8 times larger: the truth's left edge is at x = 8 x 30
    overlays = tmp_path / "o" / "overlays"
    with Image.open(overlays / "00000001_000__Mass.png") as overlay:
        assert overlay.getpixel((240, 320)) == (0, 90, 255)  # left edge of the truth
    with Image.open(overlays / "00000001_000__Nodule.png") as overlay:
        assert overlay.getpixel((240, 320)) != (0, 90, 255)  # a Mass box is not a Nodule's


def test_user_errors_are_one_line(tiny_checkpoint, tmp_path, run_cli):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"nope")
    code, _, err = run_cli("localize", "--checkpoint", tiny_checkpoint, bad, "--out", tmp_path)
    assert code == 2 and "error: " in err and "none of the 1 inputs could be read" in err
    code, _, err = run_cli("localize", "--checkpoint", tmp_path / "none.pt", bad, "--out",
                           tmp_path)
    assert code == 2 and err.startswith("error: ") and "none.pt" in err
    code, _, err = run_cli("localize", "--checkpoint", tiny_checkpoint, bad, "--out", tmp_path,
                           "--method", "magic")
    assert code == 2 and "unknown box method 'magic'" in err and "paper" in err
