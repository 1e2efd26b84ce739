"""``chestx eval-boxes`` on the real NIH ground truth (BBox_List_2017.csv.gz)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chestx.metrics.localization import RESULT_COLUMNS


@pytest.fixture(scope="module")
def nih_boxes(shared_dir):
    from chestx.data.bbox_csv import read_bbox_list

    path = shared_dir / "data" / "nih" / "BBox_List_2017.csv.gz"
    return path, read_bbox_list(path)


def _write_pred(frame: pd.DataFrame, path, infiltrate: bool = True) -> None:
    pred = frame.copy()
    if infiltrate:  # the detector may use the box file's spelling
        pred["Finding Label"] = pred["Finding Label"].replace("Infiltration", "Infiltrate")
    pred.to_csv(path, index=False)


def _at(scores: pd.DataFrame, measure: str, threshold: float) -> pd.DataFrame:
    return scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]


def test_ground_truth_against_itself_is_perfect(nih_boxes, tmp_path, run_cli):
    gt_path, gt = nih_boxes
    _write_pred(gt, tmp_path / "pred.csv")
    code, out, err = run_cli("eval-boxes", "--pred", tmp_path / "pred.csv", "--gt", gt_path,
                             "--out", tmp_path / "eval")
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "eval" / "localization.csv")
    assert list(scores.columns) == RESULT_COLUMNS
    assert (scores["acc"] == 1).all() and (scores["afp"] == 0).all()
    infiltration = scores[scores["finding"] == "Infiltration"].iloc[0]
    assert (infiltration["n_boxes"], infiltration["n_images"]) == (123, 123)
    assert scores.groupby("finding")["n_boxes"].first().sum() == len(gt) == 984
    assert "T(IoBB) = 0.25" in out and "T(IoU) = 0.7" in out and "Pneumothorax" in out


def test_half_width_shift_gives_iobb_one_half_and_iou_one_third(nih_boxes, tmp_path, run_cli):
    # no NIH image has two boxes of one finding, so each shifted box meets only its own box:
    # IoBB = (w/2 * h) / (w * h) = 1/2 and IoU = (w/2 * h) / (3/2 * w * h) = 1/3
    gt_path, gt = nih_boxes
    shifted = gt.assign(x=gt["x"] + gt["w"] / 2)
    _write_pred(shifted, tmp_path / "pred.csv")
    code, _, err = run_cli("eval-boxes", "--pred", tmp_path / "pred.csv", "--gt", gt_path,
                           "--out", tmp_path)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "localization.csv")
    for measure, below, above in (("iobb", 0.25, 0.75), ("iou", 0.3, 0.4)):
        hit, miss = _at(scores, measure, below), _at(scores, measure, above)
        assert (hit["acc"] == 1).all() and (hit["afp"] == 0).all()
        assert (miss["acc"] == 0).all() and (miss["afp"] == 1).all()  # 1 box per image


def test_boxes_twice_as_large_pass_iobb_one_tenth_only(nih_boxes, tmp_path, run_cli):
    # the paper's note under T(IoBB) = 0.25: a box twice as large on both axes has IoBB 1/4
    gt_path, gt = nih_boxes
    doubled = gt.assign(x=gt["x"] - gt["w"] / 2, y=gt["y"] - gt["h"] / 2,
                        w=2 * gt["w"], h=2 * gt["h"])
    _write_pred(doubled, tmp_path / "pred.csv", infiltrate=False)
    code, _, err = run_cli("eval-boxes", "--pred", tmp_path / "pred.csv", "--gt", gt_path,
                           "--out", tmp_path)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "localization.csv")
    assert (_at(scores, "iobb", 0.1)["acc"] == 1).all()
    assert (_at(scores, "iobb", 0.5)["acc"] == 0).all()
    assert (_at(scores, "iou", 0.2)["acc"] == 1).all()  # IoU is 1/4 as well
    assert (_at(scores, "iou", 0.3)["acc"] == 0).all()


def test_missing_prediction_file_is_one_line_error(nih_boxes, tmp_path, run_cli):
    gt_path, _ = nih_boxes
    code, _, err = run_cli("eval-boxes", "--pred", tmp_path / "none.csv", "--gt", gt_path,
                           "--out", tmp_path)
    assert code == 2
    assert err.startswith("error: ") and "none.csv" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "localization.csv").exists()


def test_eval_boxes_without_shared_data(tmp_path, run_cli):
    gt = tmp_path / "BBox_List_2017.csv"
    gt.write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\nA.png,Mass,0,0,100,100\n"
                  "B.png,Infiltrate,0,0,10,10\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("Image Index,Finding Label,x,y,w,h,score\nA.png,Mass,0,0,50,100,0.9\n"
                    "A.png,Mass,60,0,40,100,0.5\nB.png,Infiltration,20,20,5,5,0.1\n")
    code, out, err = run_cli("eval-boxes", "--pred", pred, "--gt", gt, "--out", tmp_path / "o")
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "o" / "localization.csv").set_index(
        ["measure", "threshold", "finding"])
    # Mass: IoU 0.5 and 0.4 with the truth, IoBB 1 and 1
    assert scores.loc[("iou", 0.4, "Mass"), "acc"] == 1
    assert scores.loc[("iou", 0.4, "Mass"), "afp"] == 1  # the 0.4 box is not > 0.4
    assert scores.loc[("iou", 0.5, "Mass"), "acc"] == 0
    assert scores.loc[("iobb", 0.9, "Mass"), "afp"] == 0
    assert scores.loc[("iobb", 0.1, "Infiltration"), "acc"] == 0  # disjoint
    assert scores.loc[("iobb", 0.1, "Infiltration"), "afp"] == 1
