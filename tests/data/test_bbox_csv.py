"""The box CSVs: NIH's BBox_List_2017.csv read (odd header, Infiltrate) and the predicted-box
table written in the formats of ``chestx predict`` and ``chestx evaluate``."""

from __future__ import annotations

import csv
import math

import pandas as pd
import pytest

from chestx.boxes import Box
from chestx.data.bbox_csv import (
    PRED_COLUMNS,
    boxes_by_image,
    pred_row,
    read_bbox_list,
    write_bbox_list,
    write_pred_boxes,
)

NIH_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"

BBOX_CSV = (
    "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
    "00013118_008.png,Atelectasis,225.084745762712,547.019216763771,86.7796610169491,"
    "79.1864406779661\n"
    "00000003_000.png,Infiltrate,10.5,20,30,40.25\n"
)


def test_bbox_list_odd_header_and_infiltrate_alias(tmp_path):
    assert BBOX_CSV.splitlines()[0].count(",") == 8  # 9 header fields over 6-field rows
    path = tmp_path / "BBox_List_2017.csv"
    path.write_text(BBOX_CSV)
    boxes = read_bbox_list(path)
    assert list(boxes.columns) == ["Image Index", "Finding Label", "x", "y", "w", "h"]
    assert boxes["Finding Label"].tolist() == ["Atelectasis", "Infiltration"]
    assert boxes.loc[1, ["x", "y", "w", "h"]].tolist() == [10.5, 20.0, 30.0, 40.25]
    assert boxes.loc[0, "x"] == pytest.approx(225.084745762712)
    assert read_bbox_list(tmp_path).equals(boxes)  # the folder works too


def test_bbox_list_plain_header_with_score(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("Image Index,Finding Label,x,y,w,h,score\na.png,Mass,1,2,3,4,0.9\n")
    boxes = read_bbox_list(path)
    assert boxes.iloc[0].tolist() == ["a.png", "Mass", 1.0, 2.0, 3.0, 4.0]


def test_boxes_by_image_groups_rows_as_domain_boxes():
    frame = pd.DataFrame([["a.png", "Mass", 1.0, 2.0, 3.0, 4.0],
                          ["b.png", "Nodule", 5.0, 6.0, 7.0, 8.0],
                          ["a.png", "Nodule", 0.5, 0.5, 1.0, 1.0]],
                         columns=["Image Index", "Finding Label", "x", "y", "w", "h"])
    boxes = boxes_by_image(frame)
    assert boxes["a.png"] == [Box(1.0, 2.0, 3.0, 4.0, 1.0, "Mass", "a.png"),
                              Box(0.5, 0.5, 1.0, 1.0, 1.0, "Nodule", "a.png")]
    assert [b.finding for b in boxes["b.png"]] == ["Nodule"]


def test_pred_rows_in_both_formats():
    box = Box(12.25, 3.0, 100.0, 7.125, 0.87654, "Mass")
    assert pred_row("a.png", box) == ["a.png", "Mass", "12.2", "3.0", "100.0", "7.1", "0.8765"]
    assert pred_row("a.png", box, "%.6g", "%.6g") == ["a.png", "Mass", "12.25", "3", "100",
                                                      "7.125", "0.87654"]
    unscored = Box(1.0, 2.0, 3.0, 4.0, math.nan, "Nodule")
    assert pred_row("b.png", unscored, "%.6g", "%.6g")[-1] == ""


def test_write_pred_boxes_header_and_rows(tmp_path):
    rows = [pred_row("a.png", Box(1.0, 2.0, 3.0, 4.0, 0.5, "Mass"))]
    path = write_pred_boxes(tmp_path / "new" / "boxes.csv", rows)
    with open(path, newline="", encoding="utf-8") as handle:
        read = list(csv.reader(handle))
    assert read == [PRED_COLUMNS, ["a.png", "Mass", "1.0", "2.0", "3.0", "4.0", "0.5000"]]
    assert read_bbox_list(path).iloc[0].tolist() == ["a.png", "Mass", 1.0, 2.0, 3.0, 4.0]
    assert not write_pred_boxes(tmp_path / "empty.csv", []).read_text().strip().count("\n")
    assert path.read_bytes().count(b"\r\n") == 2
    plain = write_pred_boxes(tmp_path / "plain.csv", rows, line_end="\n").read_bytes()
    assert plain == path.read_bytes().replace(b"\r\n", b"\n")


def test_the_bbox_list_writer_speaks_nih(tmp_path):
    path = write_bbox_list(tmp_path / "BBox_List_2017.csv", [
        ("00000009_000.png", "Mass", 1.5, 2, 3, 4.25),
        ("00000002_000.png", "Infiltration", 10, 20, 30, 40),
        ("00000001_000.png", "Mass", 225.084745762712, 0, 512, 1 / 3),
        ("00000003_000.png", "Atelectasis", 5, 6, 7, 8),
    ])
    assert path.read_text().splitlines() == [
        NIH_HEADER,
        "00000003_000.png,Atelectasis,5,6,7,8",
        "00000002_000.png,Infiltrate,10,20,30,40",
        "00000001_000.png,Mass,225.084745762712,0,512,0.3333333333333333",
        "00000009_000.png,Mass,1.5,2,3,4.25",
    ]
    back = read_bbox_list(path)
    assert back["Finding Label"].tolist() == ["Atelectasis", "Infiltration", "Mass", "Mass"]
    assert back["h"].tolist() == [8, 40, 1 / 3, 4.25]
