"""Localizing a dataset's ground-truth images and scoring them (the ``chestx evaluate`` step).

With :class:`BrightnessNet` the Mass heatmap is the image averaged over 8 x 8 blocks. A
16 x 16 blob on the block grid at (8, 8) gives 2 x 2 hot cells; bilinear upsampling ramps
from 1 at their centres (12, 20) to 0 at the next centres (4, 28), so:
- ``peak`` (levels 0.6 and 0.85 of the peak over the median background, here 0): pixel
  centres with ramp >= 0.6 from x + 0.5 = 8.8 to 23.2 -> box (9, 9, 14, 14), IoU 196/256 =
  0.77; >= 0.85 from 10.8 -> box (11, 11, 10, 10), IoU 100/256 = 0.39; both IoBB 1;
- ``paper`` at 60: ramp >= 60/255 from x = 5.9 -> a 20 x 20 box, IoU 256/400 = 0.64, IoBB
  0.64; at 180: from x = 9.6 -> a 12 x 12 box inside the blob, IoU 144/256 = 0.56, IoBB 1.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from chestx.metrics.localization import mean_acc
from chestx.runners.evaluate import (
    add_localization,
    evaluate_model_localization,
    localize_ground_truth,
)


@pytest.fixture
def blob_folder(tmp_path, make_blob):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    Image.fromarray(make_blob((64, 64), (8, 8, 16, 16))).save(root / "images" / "a.png")
    Image.fromarray(make_blob((64, 64), (40, 32, 16, 16))).save(root / "images" / "b.png")
    (root / "BBox_List_2017.csv").write_text(
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
        "a.png,Mass,8,8,16,16\n"
        "b.png,Mass,40,32,16,16\n"
        "b.png,Nodule,0,0,8,8\n"
        "missing.png,Mass,0,0,8,8\n")
    return root


def test_localize_ground_truth_boxes_each_gt_class_once_per_generator(brightness_net,
                                                                      blob_folder):
    from chestx.data.bbox_csv import read_bbox_list

    gt = read_bbox_list(blob_folder)
    boxes, problems = localize_ground_truth(brightness_net, blob_folder, gt, ("peak", "paper"),
                                            batch_size=2, progress=False)
    assert list(problems) == ["missing.png"] and "image not found" in problems["missing.png"]
    peak = boxes["peak"]
    mass = peak[peak["Finding Label"] == "Mass"].set_index("Image Index")
    assert mass.loc["a.png", ["x", "y", "w", "h"]].to_numpy(float).tolist() == [
        [9, 9, 14, 14], [11, 11, 10, 10]]
    assert mass.loc["b.png", ["x", "y", "w", "h"]].to_numpy(float).tolist() == [
        [41, 33, 14, 14], [43, 35, 10, 10]]
    assert set(peak.loc[peak["Image Index"] == "a.png", "Finding Label"]) == {"Mass"}
    assert set(peak.loc[peak["Image Index"] == "b.png", "Finding Label"]) == {"Mass"}
    # Nodule heat (the negative image) peaks on the flat background: nothing stands out
    assert set(boxes["paper"].loc[boxes["paper"]["Image Index"] == "b.png",
                                  "Finding Label"]) == {"Mass", "Nodule"}
    paper_a = boxes["paper"][(boxes["paper"]["Image Index"] == "a.png")]
    assert sorted(paper_a["w"].round()) == [12, 20]  # one box per threshold


def test_evaluate_model_localization_writes_and_compares(brightness_net, blob_folder,
                                                         tmp_path):
    lines = []
    results = evaluate_model_localization(brightness_net, blob_folder, tmp_path / "eval",
                                          progress=False, echo=lines.append)
    assert list(results) == ["region", "paper", "peak"]
    for name in ("boxes.csv", "localization.csv", "boxes_paper.csv", "localization_paper.csv",
                 "localization_peak.csv", "froc.png"):
        assert (tmp_path / "eval" / name).is_file()
    saved = pd.read_csv(tmp_path / "eval" / "localization.csv")
    paper_saved = pd.read_csv(tmp_path / "eval" / "localization_paper.csv")
    assert set(saved["generator"]) == {"region"} and set(paper_saved["generator"]) == {"paper"}
    assert set(saved["heatmap"]) == {"cam"}
    region, peak, paper = results["region"], results["peak"], results["paper"]
    pointing = saved[saved["measure"] == "pointing"].set_index("finding")
    # the Mass map (bright blocks) peaks inside both Mass boxes
    assert pointing.loc["Mass", ["acc", "n_images"]].tolist() == [1.0, 2]
    assert pointing.loc["Nodule", "n_images"] == 1
    saved = saved[saved["measure"] != "pointing"]
    assert np.allclose(saved["acc"], region["acc"])
    # region (level 0.6 over the median, here 0): ramp >= 0.6 for pixel centres 8.8 to 23.2
    # -> box (9, 9, 14, 14), IoU 196/256 = 0.77, one per image: Acc 1, AFP 0 at IoU > 0.7
    assert mean_acc(region, "iou", 0.7, ["Mass"]) == 1
    at = region[(region["measure"] == "iou") & np.isclose(region["threshold"], 0.7)]
    assert at.set_index("finding").loc["Mass", ["afp", "acc_at_afp1"]].tolist() == [0, 1]
    assert (peak["n_images"] == peak["finding"].map({"Mass": 2, "Nodule": 1})).all()
    # Mass (2 images, missing.png is not scored): peak boxes have IoU 0.77 and 0.39,
    # paper boxes 0.64 and 0.56 only
    assert mean_acc(peak, "iou", 0.7, ["Mass"]) == 1
    at = peak[(peak["measure"] == "iou") & np.isclose(peak["threshold"], 0.7)
              & (peak["finding"] == "Mass")]
    assert at["afp"].item() == 1.0  # the tight core box, once per image
    assert mean_acc(paper, "iou", 0.7, ["Mass"]) == 0
    assert mean_acc(paper, "iou", 0.5, ["Mass"]) == 1
    assert mean_acc(paper, "iobb", 0.5, ["Mass"]) == 1
    at = paper[(paper["measure"] == "iobb") & np.isclose(paper["threshold"], 0.75)
               & (paper["finding"] == "Mass")]
    assert at["afp"].item() == 1.0  # the 60-box (IoBB 0.64) misses on each of 2 images
    # Nodule heat is the negative image: hot in the dark, never on the 8 x 8 corner box
    assert mean_acc(peak, "iobb", 0.5, ["Nodule"]) == 0
    text = "\n".join(lines)
    assert "skipped: " in text and "missing.png" in text
    assert "T(IoBB) = 0.5" in text and "peak boxes: mean Acc IoBB>0.5" in text
    assert "paper boxes" in text and "region boxes" in text
    assert "Table 4 (IoBB) layout: boxes of the paper's generator" in text
    assert "Table 7 (IoU) layout: boxes of chestx's 'region' generator" in text


def test_add_localization_only_with_a_box_list(brightness_net, blob_folder, tmp_path):
    evaluation = SimpleNamespace(model=brightness_net, out=tmp_path / "e", files={},
                                 image_ids=["a.png"])
    add_localization(evaluation, blob_folder, progress=False, echo=lambda _: None)
    assert set(evaluation.files) == {"boxes", "localization", "boxes_paper",
                                     "localization_paper", "boxes_peak", "localization_peak",
                                     "box_extent", "froc"}
    boxes = pd.read_csv(evaluation.files["boxes"])
    assert set(boxes["Image Index"]) == {"a.png"}  # only the evaluated images
    empty = SimpleNamespace(model=brightness_net, out=tmp_path / "f", files={}, image_ids=[])
    add_localization(empty, blob_folder, progress=False, echo=lambda _: None)
    assert empty.files == {}
    (blob_folder / "BBox_List_2017.csv").unlink()
    add_localization(evaluation, blob_folder, progress=False, echo=lambda _: None)
    assert not (tmp_path / "f").exists()
