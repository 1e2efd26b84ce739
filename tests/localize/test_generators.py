"""Box generators on heatmaps whose boxes are worked out by hand.

A single hot cell ``(row, col)`` of an ``S x S`` map, bilinearly upsampled by ``k``, is a tent
``(1 - |dx|)(1 - |dy|)`` around the cell centre (``dx, dy`` in cells). Scaled to [0, 255] by its
upsampled maximum ``(1 - 1/(2k))^2``, the pixels at or above ``t`` on the centre row reach
``|dx| <= 1 - (t / 255)(1 - 1/(2k))``; with ``k = 128`` that is ``1 - t/256`` cells, so the
box is ``2 * 128 * (1 - t/256) = 256 - t`` pixels wide: 196 for 60, 76 for 180.
"""

from __future__ import annotations

import numpy as np
import pytest

from chestx.boxes import Box
from chestx.localize import (
    GENERATORS,
    PeakBoxGenerator,
    ThresholdBoxGenerator,
    build_generator,
    heatmap_to_boxes,
    register_generator,
)
from chestx.localize.generators import heatmap_peaks
from chestx.registry import RegistryError


def _spikes(*cells: tuple[int, int, float], size: int = 8) -> np.ndarray:
    heatmap = np.zeros((size, size), dtype=np.float32)
    for row, col, value in cells:
        heatmap[row, col] = value
    return heatmap


def _xywh(boxes):
    return [tuple(round(v, 3) for v in b.xywh) for b in boxes]


def test_paper_boxes_of_one_hot_cell():
    # cell (2, 3) of 8 on 1024 px: centre (x, y) = (448, 320); half widths 98 and 38 px
    boxes = heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024), finding="Mass")
    assert _xywh(boxes) == [(350, 222, 196, 196), (410, 282, 76, 76)]
    assert all(b.finding == "Mass" for b in boxes)
    assert [b.score for b in boxes] == pytest.approx([1.0, 1.0])


def test_paper_thresholds_separately_give_one_two_or_three_boxes():
    # a spike of half the height reaches 255/2 after scaling: above 60, below 180
    boxes = heatmap_to_boxes(_spikes((2, 3, 1.0), (6, 6, 0.5)), (1024, 1024))
    assert len(boxes) == 3
    low = [b for b in boxes if b.x > 700]
    assert len(low) == 1 and low[0].score == pytest.approx(0.5, abs=0.01)
    # its 60-box: 1 - |dx| >= 60/127.5 * (255/256) -> half width 128 * 0.5312 = 68 px
    assert low[0].w == pytest.approx(136, abs=1)
    assert len(heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024), thresholds=(60,))) == 1


def test_paper_boxes_follow_a_non_square_image():
    square = heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024))
    wide = heatmap_to_boxes(_spikes((2, 3, 1.0)), (512, 1024))
    for s, w in zip(square, wide, strict=True):
        assert (w.x, w.w) == (s.x, s.w)
        assert w.y == pytest.approx(s.y / 2, abs=1) and w.h == pytest.approx(s.h / 2, abs=1)


def test_paper_work_size_changes_boxes_by_at_most_its_pixel():
    full = heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024))
    coarse = heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024), work_size=256)
    for f, c in zip(full, coarse, strict=True):
        assert np.allclose(f.xywh, c.xywh, atol=1024 / 256 * 2)


def test_constant_heatmap_gives_no_box():
    for method in GENERATORS:
        assert heatmap_to_boxes(np.full((8, 8), 3.0), (64, 64), method) == []


def test_min_area_and_mean_score():
    heatmap = _spikes((2, 3, 1.0))
    kept = heatmap_to_boxes(heatmap, (1024, 1024), min_area=100 * 100)
    assert _xywh(kept) == [(350, 222, 196, 196)]  # the 76 x 76 box is dropped
    mean = heatmap_to_boxes(heatmap, (1024, 1024), score="mean")
    assert all(0.2 < b.score < 1.0 for b in mean)


def test_peak_box_is_the_half_maximum_of_each_peak():
    # the half maximum of a tent is +-0.5 cell: exactly the hot cell, 128 px, for each peak
    boxes = heatmap_to_boxes(_spikes((2, 3, 1.0), (6, 6, 0.6)), (1024, 1024), "peak",
                             levels=(0.5,))
    assert len(boxes) == 2
    assert np.allclose(boxes[0].xywh, (384, 256, 128, 128), atol=4)
    assert np.allclose(boxes[1].xywh, (768, 768, 128, 128), atol=4)
    assert boxes[0].score == pytest.approx(1.0, abs=0.02)
    assert boxes[1].score == pytest.approx(0.6, abs=0.02)


def test_peak_level_sets_the_box_size():
    # level 0.25: 1 - |dx| >= 0.25 -> 0.75 cell each side, 192 px
    box = heatmap_to_boxes(_spikes((2, 3, 1.0)), (1024, 1024), "peak", levels=(0.25,),
                           work_size=None)[0]
    assert box.w == pytest.approx(192, abs=2) and box.x == pytest.approx(448 - 96, abs=1)


def test_peak_default_levels_give_two_nested_boxes_per_peak():
    # levels 0.6 and 0.85: 0.4 and 0.15 cell each side of the centre (448, 320): 102, 38 px
    boxes = heatmap_to_boxes(_spikes((2, 3, 1.0), (6, 6, 0.7)), (1024, 1024), "peak",
                             work_size=None)
    assert len(boxes) == 4  # two per peak; the weaker peak's are as tight as the first's
    assert np.allclose(boxes[0].xywh, (448 - 51, 320 - 51, 102, 102), atol=2)
    assert np.allclose(boxes[1].xywh, (448 - 19, 320 - 19, 38, 38), atol=2)
    assert np.allclose(boxes[2].xywh, (832 - 51, 832 - 51, 102, 102), atol=2)
    assert np.allclose(boxes[3].xywh, (832 - 19, 832 - 19, 38, 38), atol=2)
    assert [round(b.score, 2) for b in boxes] == [1.0, 1.0, 0.7, 0.7]


def test_peak_levels_are_relative_to_the_median_background():
    # a raised background (0.5 everywhere) with one peak of 1.0: with the median as floor
    # the 0.6 level sits at 0.8 (box 0.4 cell each side); from the minimum it would sit at
    # 0.6 of the range above 0 -- with background 0.5 that is the whole map for the min
    heatmap = np.full((8, 8), 0.5, dtype=np.float32)
    heatmap[2, 3] = 1.0
    heatmap[7, 7] = 0.0  # the minimum, far away
    median = heatmap_to_boxes(heatmap, (256, 256), "peak", levels=(0.6,), work_size=None)
    assert np.allclose(median[0].xywh, (112 - 12.8, 80 - 12.8, 25.6, 25.6), atol=1.5)
    low = heatmap_to_boxes(heatmap, (256, 256), "peak", levels=(0.4,), background="min",
                           work_size=None)
    assert low[0].w > 200  # 0.4 of the range is below the 0.5 background: all connected


def test_peak_suppresses_a_peak_inside_a_stronger_region():
    ridge = _spikes((3, 3, 1.0), (3, 4, 0.8), (3, 5, 0.9))  # saddle 0.8 above half of 1.0
    boxes = heatmap_to_boxes(ridge, (256, 256), "peak", levels=(0.5,), work_size=None)
    assert len(boxes) == 1
    # cells of 32 px; the region spans the centres 112..176 of cells 3..5, plus where the tent
    # stays >= 0.5: 0.5 cell left of cell 3 (1.0), 1 - 0.5/0.9 = 0.44 cell right of cell 5
    assert boxes[0].x == pytest.approx(112 - 16, abs=1)
    assert boxes[0].x + boxes[0].w == pytest.approx(176 + 0.444 * 32, abs=1.5)
    apart = _spikes((1, 1, 1.0), (6, 6, 0.9))
    assert len(heatmap_to_boxes(apart, (256, 256), "peak", levels=(0.5,))) == 2
    assert len(heatmap_to_boxes(apart, (256, 256), "peak", max_boxes=1)) == 2  # 2 levels
    assert len(heatmap_to_boxes(apart, (256, 256), "peak", min_peak=0.95)) == 2


def test_heatmap_peaks_are_sorted_and_thresholded():
    heatmap = _spikes((1, 1, 0.4), (5, 5, 1.0), (6, 1, 0.7))
    assert heatmap_peaks(heatmap, 0.5) == [(5, 5), (6, 1)]
    assert heatmap_peaks(heatmap, 0.0) == [(5, 5), (6, 1), (1, 1)]


def test_registry_builds_by_name_and_rejects_unknown(monkeypatch):
    monkeypatch.setattr(GENERATORS, "_entries", dict(GENERATORS._entries))  # undone after
    assert isinstance(build_generator("paper"), ThresholdBoxGenerator)
    assert isinstance(build_generator("peak", levels=(0.6,)), PeakBoxGenerator)
    assert build_generator("paper").thresholds == (60.0, 180.0)  # the paper's defaults
    with pytest.raises(RegistryError, match="unknown box method 'nope'"):
        build_generator("nope")

    @register_generator("whole-image-test")
    class WholeImage:
        def __call__(self, heatmap, image_size, finding=""):
            return [Box(0, 0, image_size[1], image_size[0], 1.0, finding)]

    boxes = heatmap_to_boxes(np.ones((4, 4)), (30, 40), "whole-image-test", finding="Mass")
    assert boxes == [Box(0, 0, 40, 30, 1.0, "Mass")]
    with pytest.raises(RegistryError, match="'whole-image-test' is already registered"):
        register_generator("whole-image-test")(WholeImage)


def test_region_generator_boxes_the_hottest_region_once_scored_by_probability():
    from chestx.localize.generators import DEFAULT_METHOD, RegionBoxGenerator

    assert DEFAULT_METHOD == "region"
    heat = np.zeros((8, 8), dtype=np.float32)
    heat[2:4, 2:4] = 1.0  # a blob of 2 x 2 cells
    heat[6, 6] = 0.8  # a weaker, separate one
    # 64 px image, 8 px cells: bilinear ramp 1 at the blob's cell centres (20, 28) down to 0
    # at the next centres (12, 36); level 0.5 over the median (0) -> pixel centres from 16
    # to 32: pixels 16..31, the blob's own cells; level 0.6 (default) -> 16.8 to 31.2: 17..30
    boxes = RegionBoxGenerator(level=0.5)(heat, (64, 64), "Mass", probability=0.7)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(16, 16, 16, 16)]
    boxes = RegionBoxGenerator()(heat, (64, 64), "Mass", probability=0.7)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(17, 17, 14, 14)]
    assert boxes[0].score == pytest.approx(0.7) and boxes[0].finding == "Mass"
    # a second region only when asked for; its score is scaled by its relative height: the
    # single hot cell's upsampled peak is a little below 0.8 (pixel centres miss the cell
    # centre), above min_relative = 0.6 of the first region's height
    two = RegionBoxGenerator(max_boxes=2)(heat, (64, 64), "Mass", probability=0.5)
    assert len(two) == 2 and 0.5 * 0.6 < two[1].score < 0.5 * 0.8 + 1e-6
    assert two[1].x > 40 and two[0].score == pytest.approx(0.5)
    assert RegionBoxGenerator()(np.zeros((8, 8)), (64, 64)) == []  # flat map: no box
