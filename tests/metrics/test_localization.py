"""IoU, IoBB, Acc and AFP on boxes worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chestx.data.bbox_csv import BBOX_COLUMNS
from chestx.errors import ChestxError
from chestx.localize.geometry import box_iobb, box_iou
from chestx.metrics.localization import (
    IOBB_THRESHOLDS,
    IOU_THRESHOLDS,
    RESULT_COLUMNS,
    format_table,
    localization_scores,
    mean_acc,
    read_pred_boxes,
)


@pytest.mark.parametrize(
    ("pred", "gt", "iou", "iobb"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0, 1.0),           # identical
        ((0, 0, 10, 10), (10, 0, 10, 10), 0.0, 0.0),          # touching edges: no area shared
        ((0, 0, 10, 10), (10, 10, 5, 5), 0.0, 0.0),           # touching corners
        ((2, 2, 4, 4), (0, 0, 10, 10), 0.16, 1.0),            # prediction nested in the truth
        ((0, 0, 10, 10), (2, 2, 4, 4), 0.16, 0.16),           # truth nested in the prediction
        ((0, 0, 10, 10), (5, 5, 10, 10), 25 / 175, 0.25),     # quarter overlap
        ((0, 0, 5, 5), (20, 20, 5, 5), 0.0, 0.0),             # disjoint
        ((3, 3, 0, 0), (0, 0, 10, 10), 0.0, 0.0),             # degenerate prediction
    ],
)
def test_iou_and_iobb_by_hand(pred, gt, iou, iobb):
    assert box_iou(np.array([pred]), np.array([gt]))[0, 0] == pytest.approx(iou)
    assert box_iobb(np.array([pred]), np.array([gt]))[0, 0] == pytest.approx(iobb)


def test_pairwise_shapes_and_empty_inputs():
    pred = np.array([[0, 0, 10, 10], [5, 5, 10, 10], [100, 100, 1, 1]])
    gt = np.array([[0, 0, 10, 10], [0, 0, 20, 20]])
    iou = box_iou(pred, gt)
    assert iou.shape == (3, 2)
    assert iou[1, 1] == pytest.approx(100 / 400)  # (5,5)-(15,15) inside (0,0)-(20,20)
    assert box_iobb(pred, gt)[1, 1] == pytest.approx(1.0)
    assert box_iou(np.zeros((0, 4)), gt).shape == (0, 2)
    assert box_iobb(pred, np.zeros((0, 4))).shape == (3, 0)


def _frame(rows):
    return pd.DataFrame(rows, columns=BBOX_COLUMNS)


GT = _frame([
    ("A.png", "Mass", 0, 0, 100, 100),
    ("A.png", "Mass", 500, 500, 100, 100),
    ("B.png", "Mass", 0, 0, 200, 200),
    ("C.png", "Nodule", 100, 100, 50, 50),
    ("A.png", "Cardiomegaly", 300, 300, 200, 200),
])
PRED = _frame([
    ("A.png", "Mass", 10, 10, 50, 50),          # in gA1: IoBB 1, IoU 0.25
    ("A.png", "Mass", 0, 0, 100, 100),          # gA1 again: IoU 1 (two predictions, one box)
    ("A.png", "Mass", 800, 800, 50, 50),        # disjoint: false positive
    ("B.png", "Mass", 200, 0, 100, 100),        # touches gB: false positive
    ("A.png", "Cardiomegaly", 300, 300, 400, 400),  # holds gA3: IoU = IoBB = 0.25
    ("D.png", "Mass", 0, 0, 10, 10),            # image without ground truth: not scored
    ("A.png", "Effusion", 0, 0, 10, 10),        # finding without ground truth: not scored
])                                              # no Nodule prediction at all


def _row(scores, measure, threshold, finding):
    rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)
                  & (scores["finding"] == finding)]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("measure", "threshold", "finding", "acc", "afp"),
    [
        ("iobb", 0.5, "Mass", 1 / 3, 2 / 2),   # gA1 hit twice, gA2 and gB missed; p3, p4 false
        ("iobb", 0.9, "Mass", 1 / 3, 2 / 2),   # IoBB 1 > 0.9 for both boxes on gA1
        ("iou", 0.2, "Mass", 1 / 3, 2 / 2),    # p1 IoU 0.25 > 0.2 still a hit
        ("iou", 0.3, "Mass", 1 / 3, 3 / 2),    # p1 IoU 0.25 now a false positive too
        ("iou", 0.7, "Mass", 1 / 3, 3 / 2),    # p2 IoU 1 keeps gA1 hit
        ("iobb", 0.1, "Cardiomegaly", 1.0, 0.0),
        ("iobb", 0.25, "Cardiomegaly", 0.0, 1.0),  # strict: 0.25 is not > 0.25
        ("iou", 0.2, "Cardiomegaly", 1.0, 0.0),
        ("iou", 0.3, "Cardiomegaly", 0.0, 1.0),
        ("iobb", 0.1, "Nodule", 0.0, 0.0),     # a class without any prediction
        ("iou", 0.7, "Nodule", 0.0, 0.0),
    ],
)
def test_acc_and_afp_by_hand(measure, threshold, finding, acc, afp):
    row = _row(localization_scores(PRED, GT), measure, threshold, finding)
    assert row["acc"] == pytest.approx(acc)
    assert row["afp"] == pytest.approx(afp)


def test_score_frame_layout_and_counts():
    scores = localization_scores(PRED, GT)
    assert list(scores.columns) == RESULT_COLUMNS
    assert set(scores["finding"]) == {"Cardiomegaly", "Mass", "Nodule"}  # no Effusion: no GT
    assert len(scores) == 3 * (len(IOBB_THRESHOLDS) + len(IOU_THRESHOLDS))
    mass = _row(scores, "iobb", 0.5, "Mass")
    assert (mass["n_images"], mass["n_boxes"]) == (2, 3)
    assert mean_acc(scores, "iobb", 0.1) == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert mean_acc(scores, "iobb", 0.1, ["Mass", "Nodule"]) == pytest.approx(1 / 6)


def test_accuracy_falls_and_afp_rises_with_threshold():
    scores = localization_scores(PRED, GT)
    for measure in ("iobb", "iou"):
        per = scores[scores["measure"] == measure].groupby("threshold")[["acc", "afp"]].sum()
        assert (np.diff(per["acc"]) <= 1e-12).all()
        assert (np.diff(per["afp"]) >= -1e-12).all()


def test_format_table_has_the_papers_layout():
    scores = localization_scores(PRED, GT)
    text = format_table(scores, "iobb")
    lines = text.splitlines()
    assert lines[0].split() == ["T(IoBB)", "Cardiomegaly", "Mass", "Nodule", "Mean"]
    at = lines.index("T(IoBB) = 0.5")
    # Cardiomegaly IoBB 0.25 misses at 0.5; Mass 1 of 3 boxes, 2 false on 2 images
    assert lines[at + 1].split() == ["Acc.", "0.0000", "0.3333", "0.0000", "0.1111"]
    assert lines[at + 2].split() == ["AFP", "1.0000", "1.0000", "0.0000", "0.6667"]
    assert sum(line.startswith("T(IoU) =") for line in format_table(scores, "iou").splitlines()) \
        == len(IOU_THRESHOLDS)


def test_read_pred_boxes_accepts_aliases_and_missing_score(tmp_path):
    path = tmp_path / "pred.csv"
    path.write_text("Image Index,Finding Label,x,y,w,h\nA.png,Infiltrate,1,2,3,4\n"
                    "B.png,Infiltration,5,6,7,8\n")
    frame = read_pred_boxes(path)
    assert list(frame["Finding Label"]) == ["Infiltration", "Infiltration"]
    assert frame[["x", "y", "w", "h"]].to_numpy().tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert frame["score"].isna().all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Image Index,Finding Label,x,y,w\nA.png,Mass,1,2,3\n", r"missing column\(s\) h"),
        ("Image Index,Finding Label,x,y,w,h\nA.png,Mass,1,2,three,4\n", "line 2: bad w"),
        ("Image Index,Finding Label,x,y,w,h\nA.png,Mass,1,2,3,4\nA.png,Tumour,1,2,3,4\n",
         "line 3: unknown finding 'Tumour'"),
        ("Image Index,Finding Label,x,y,w,h,score\nA.png,Mass,1,2,3,4,high\n", "bad score"),
    ],
)
def test_read_pred_boxes_names_file_and_problem(tmp_path, text, message):
    path = tmp_path / "pred.csv"
    path.write_text(text)
    with pytest.raises(ChestxError, match=message) as info:
        read_pred_boxes(path)
    assert str(path) in str(info.value)


def test_read_pred_boxes_missing_file(tmp_path):
    with pytest.raises(ChestxError, match="not found"):
        read_pred_boxes(tmp_path / "nope.csv")
