"""The pointing game and the accuracy across levels, worked out by hand on a few boxes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chestx.localize.extent import BoxExtent, level_accuracy, level_overlaps
from chestx.localize.registration import Registration
from chestx.metrics.pointing import (
    extent_table,
    map_maximum,
    point_in_boxes,
    pointing_hits,
    pointing_scores,
)

CLASSES = ("Mass", "Nodule")


def gt_frame(rows):
    return pd.DataFrame(rows, columns=["Image Index", "Finding Label", "x", "y", "w", "h"])


def one_hot_map(cell: tuple[int, int], cells: int = 4) -> np.ndarray:
    heat = np.zeros((2, cells, cells), dtype=np.float32)
    heat[0][cell] = 1.0  # Mass
    heat[1][0, 0] = 1.0  # Nodule: always the top-left cell
    return heat


def test_point_in_boxes_uses_the_pixel_centre_and_half_open_boxes():
    boxes = np.array([[10, 20, 5, 5]])
    assert point_in_boxes((20, 10), boxes)  # centre (10.5, 20.5)
    assert point_in_boxes((24, 14), boxes)  # centre (14.5, 24.5) < 15, 25
    assert not point_in_boxes((25, 14), boxes)
    assert not point_in_boxes((19, 10), boxes)


def test_pointing_game_by_hand():
    # 4 x 4 maps of a 16 px input (stride 4, offset 0: cell c at input pixel 4c) drawn on
    # 20 px stored images: stored pixel q is input pixel (q + 0.5) * 0.8 - 0.5, so the
    # maximum of cell c is at q = 5c (input 4c - 0.1); the plain resize puts it at 5c + 2
    registration = Registration(16, 4.0, 0.0)
    assert map_maximum(one_hot_map((2, 1))[0], (20, 20), registration) == (10, 5)
    assert map_maximum(one_hot_map((2, 1))[0], (20, 20)) == (12, 7)
    maps = [("a.png", (20, 20), CLASSES, one_hot_map((2, 1)), np.array([0.9, 0.1])),
            ("b.png", (20, 20), CLASSES, one_hot_map((3, 3)), np.array([0.9, 0.1]))]
    gt = gt_frame([("a.png", "Mass", 3, 9, 4, 3),      # holds (x 5.5, y 10.5): hit
                   ("b.png", "Mass", 0, 0, 8, 8),      # (15.5, 15.5) outside this one,
                   ("b.png", "Mass", 14, 14, 5, 5),    # inside this one: hit
                   ("b.png", "Nodule", 10, 10, 4, 4),  # (0.5, 0.5) outside: miss
                   ("c.png", "Mass", 0, 0, 4, 4)])     # no map: not scored
    hits = pointing_hits(maps, gt, registration)
    assert hits[["image", "finding", "hit"]].values.tolist() == [
        ["a.png", "Mass", True], ["b.png", "Mass", True], ["b.png", "Nodule", False]]
    scores = pointing_scores(hits, gt, "region", "cam").set_index("finding")
    assert scores.loc["Mass", ["acc", "n_images", "n_boxes"]].tolist() == [1.0, 2, 4]
    assert scores.loc["Nodule", ["acc", "n_images"]].tolist() == [0.0, 1]
    assert set(scores["measure"]) == {"pointing"} and scores["afp"].isna().all()
    # the plain resize: a.png's peak at (7.5, 12.5) leaves its box (x < 7); b.png's at
    # (17.5, 17.5) stays inside (14, 14, 5, 5)
    plain = pointing_hits(maps, gt, None)
    assert plain["hit"].tolist() == [False, True, False]


def test_accuracy_across_levels_by_hand():
    # one 8 x 8 map on a 64 px image; cells are 8 px tiles (the plain placement), a 2-cell
    # plateau of height 1 at cells (3, 3)-(3, 4) with a ring of 0.5 around it
    heat = np.zeros((8, 8), dtype=np.float32)
    heat[2:5, 2:6] = 0.5
    heat[3, 3:5] = 1.0
    maps = [("a.png", (64, 64), ("Mass",), heat[None], np.array([0.9]))]
    gt = gt_frame([("a.png", "Mass", 28, 28, 8, 8)])
    overlaps = level_overlaps(maps, gt, levels=(0.3, 0.9))
    tiles = Registration.tiles(64, 8)
    assert overlaps.equals(level_overlaps(maps, gt, levels=(0.3, 0.9), registration=tiles))
    by_level = overlaps.set_index("level")
    # level 0.9: the map above 0.9 is the plateau's pixels between the two centres and a
    # little around: at most 2 cells wide, 1 tall: IoBB with (28..36)^2 small, IoU small
    # level 0.3: the whole ring (heat > 0.3 from the plateau out to the ring's ramp)
    assert by_level.loc[0.3, "iou"] < by_level.loc[0.9, "iou"]
    table = level_accuracy(overlaps)
    assert set(table.columns) >= {"iobb_0.5", "iou_0.3", "mean", "mean_iou"}
    row = table.set_index("level").loc[0.9]
    assert row["mean"] == pytest.approx((row["iobb_0.5"] + row["iou_0.3"]) / 2)
    extent = BoxExtent(levels={"Mass": 0.3})
    sweep = extent_table(overlaps, extent)
    assert sweep.set_index("level").loc[0.3, "fitted"]
    assert sweep["best"].sum() == 1


def test_level_accuracy_counts_boxes_by_hand():
    overlaps = pd.DataFrame({
        "image": ["a", "a", "b", "b"], "finding": ["Mass"] * 4, "gt_id": [0, 0, 1, 1],
        "level": [0.5, 0.8, 0.5, 0.8], "iobb": [0.6, 0.9, 0.4, 1.0],
        "iou": [0.35, 0.2, 0.5, 0.1]})
    table = level_accuracy(overlaps).set_index("level")
    # level 0.5: IoBB > 0.5 hits box 0 only (0.6; 0.4 misses): 0.5; IoU > 0.3 both: 1.0
    assert table.loc[0.5, ["iobb_0.5", "iou_0.3", "mean"]].tolist() == [0.5, 1.0, 0.75]
    # level 0.8: IoBB both (0.9, 1.0): 1.0; IoU none: 0.0
    assert table.loc[0.8, ["iobb_0.5", "iou_0.3", "mean"]].tolist() == [1.0, 0.0, 0.5]
    assert table.loc[0.5, "mean_iou"] == pytest.approx(0.425)
