"""Box generators: one class heatmap ``(S, S)`` -> boxes in stored-image pixels.

A registry maps a name to a generator class; :func:`build_generator` makes one with explicit
parameters and :func:`heatmap_to_boxes` is the one-call form.

- ``paper`` (:class:`ThresholdBoxGenerator`): Wang et al. 2017, §3.2 — upsample the heatmap to
  the image, scale it to [0, 255], threshold at 60 and at 180 separately and box every
  connected region of each binary map (so one blob gives 2 nested boxes).
- ``peak`` (:class:`PeakBoxGenerator`): regions grown from each local peak — the connected
  pixels above 0.6 and 0.85 of that peak's prominence over the map's background (median) —
  one box per level, peaks inside a stronger peak's region suppressed (non-maximum
  suppression), at most ``max_boxes`` peaks. Its levels follow each peak instead of the
  map's range, so a weak second lesion gets boxes as tight as the first, and background
  wiggles above 60/255 do not become false positives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import ndimage

from chestx.boxes import Box
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap, work_shape
from chestx.localize.registration import Registration
from chestx.registry import Registry


class BoxGenerator(Protocol):
    """Anything called as ``generator(heatmap (S, S), image_size (H, W), finding,
    probability=p, registration=r)``; ``probability`` (the class's, or ``None``) may weigh
    the box scores, ``registration`` places the map's cells on the image (``None``: equal
    tiles, see :func:`chestx.localize.heatmaps.upsample_heatmap`)."""

    def __call__(self, heatmap: np.ndarray, image_size: tuple[int, int],
                 finding: str = "", probability: float | None = None,
                 registration: Registration | None = None) -> list[Box]: ...


#: Box generator classes by name (``chestx predict --box-method`` takes its choices here).
GENERATORS: Registry[type] = Registry("box method")
#: The generator chestx uses unless told otherwise (the better one; ``paper`` stays available).
DEFAULT_METHOD = "region"


def register_generator(name: str) -> Callable[[type], type]:
    """Class decorator: make a generator available under ``name`` (taken names refused)."""
    return GENERATORS.register(name)


def build_generator(method: str = "paper", **params) -> BoxGenerator:
    """The generator registered as ``method`` with ``params`` (unknown names: RegistryError)."""
    return GENERATORS.get(method)(**params)


def box_findings(heatmaps: np.ndarray, image_size: tuple[int, int], classes: Sequence[str],
                 findings: Sequence[str], generator: BoxGenerator,
                 probabilities: np.ndarray | None = None,
                 registration: Registration | None = None) -> list[Box]:
    """Boxes of ``findings`` (those among ``classes``) from their heatmaps.

    Parameters
    ----------
    heatmaps : float ``(C, S, S)``, one per class of ``classes``.
    image_size : ``(H, W)`` of the image the boxes are for (their pixels).
    classes : the ``C`` class names, in ``heatmaps`` order.
    findings : the classes to box; names outside ``classes`` are ignored.
    generator : a :class:`BoxGenerator`.
    probabilities : float ``(C,)``, the classes' probabilities, given to the generator for
        its box scores (``None``: unknown).
    registration : where the maps' cells lie on the image (see :class:`BoxGenerator`).
    """
    boxes: list[Box] = []
    for name in findings:
        if name in classes:
            c = list(classes).index(name)
            p = None if probabilities is None else float(probabilities[c])
            boxes.extend(generator(heatmaps[c], tuple(image_size), name, probability=p,
                                   registration=registration))
    return boxes


def heatmap_to_boxes(heatmap: np.ndarray, image_size: tuple[int, int], method: str = "paper",
                     finding: str = "", **params) -> list[Box]:
    """Boxes of one class heatmap ``(S, S)`` for an image of ``image_size = (H, W)`` pixels."""
    return build_generator(method, **params)(heatmap, image_size, finding)


def _scaled_map(heatmap: np.ndarray, image_size: tuple[int, int], work_size: int | None,
                registration: Registration | None = None) -> tuple[np.ndarray, float, float]:
    """Upsample + scale to [0, 255] -> ``(map (h, w), image px per map px along y, along x)``."""
    shape = work_shape(image_size, work_size)
    scaled = normalize_heatmap(upsample_heatmap(heatmap, shape, registration))
    return scaled, image_size[0] / shape[0], image_size[1] / shape[1]


def _box(rows: slice, cols: slice, sy: float, sx: float, score: float, finding: str) -> Box:
    """A region's bounding slices on the work map -> :class:`Box` in image pixels."""
    return Box(x=cols.start * sx, y=rows.start * sy, w=(cols.stop - cols.start) * sx,
               h=(rows.stop - rows.start) * sy, score=min(float(score), 1.0), finding=finding)


@register_generator("paper")
@dataclass
class ThresholdBoxGenerator:
    """The paper's generator: fixed thresholds on the [0, 255]-scaled heatmap.

    Parameters
    ----------
    thresholds : levels in [0, 255]; each gives its own binary map ``heat >= t`` (paper: 60, 180).
    min_area : regions smaller than this many stored-image pixels are dropped (paper: none).
    score : ``"peak"`` (max heat in the region) or ``"mean"``, divided by 255.
    work_size : longest side the heatmap is upsampled to before thresholding; ``None`` (paper)
        upsamples to the full image size. Boxes are always returned in image pixels.
    connectivity : 1 (4-neighbours) or 2 (8-neighbours) for connected regions.
    """

    thresholds: tuple[float, ...] = (60.0, 180.0)
    min_area: float = 0.0
    score: str = "peak"
    work_size: int | None = None
    connectivity: int = 2

    def __call__(self, heatmap: np.ndarray, image_size: tuple[int, int],
                 finding: str = "", probability: float | None = None,
                 registration: Registration | None = None) -> list[Box]:
        scaled, sy, sx = _scaled_map(heatmap, image_size, self.work_size, registration)
        structure = ndimage.generate_binary_structure(2, self.connectivity)
        boxes = []
        for threshold in self.thresholds:
            labels, _ = ndimage.label(scaled >= threshold, structure=structure)
            for region, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
                # per-region slices: ndimage.maximum(labels=...) sorts the whole map (slow)
                heat = scaled[rows, cols][labels[rows, cols] == region]
                score = heat.max() if self.score == "peak" else heat.mean()
                box = _box(rows, cols, sy, sx, score / 255.0, finding)
                if box.area >= self.min_area:
                    boxes.append(box)
        return boxes


def heatmap_peaks(heatmap: np.ndarray, min_peak: float) -> list[tuple[int, int]]:
    """Local maxima (3x3) of ``heatmap (S, S)`` whose min-max scaled height is >= ``min_peak``.

    Returns ``(row, col)`` cells, highest first.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    scaled = normalize_heatmap(heatmap, top=1.0)
    is_peak = ndimage.maximum_filter(heatmap, size=3, mode="nearest") == heatmap
    rows, cols = np.nonzero(is_peak & (scaled >= min_peak) & (scaled > 0))
    order = np.argsort(-heatmap[rows, cols], kind="stable")
    return [(int(rows[i]), int(cols[i])) for i in order]


@register_generator("peak")
@dataclass
class PeakBoxGenerator:
    """Nested boxes grown from each heatmap peak, with non-maximum suppression.

    The paper cuts the whole map at two fixed levels (60 and 180 of 255), so a weak second
    peak gets only a loose box, and a noisy map many small ones. Here each local maximum of
    the ``(S, S)`` heatmap (highest first) whose scaled height is at least ``min_peak`` (0..1
    of the map's range) is cut at levels relative to its own prominence above the map's
    background: the region of a level ``l`` is the connected set of upsampled pixels with
    ``heat >= background + l * (peak - background)`` around the peak, and each level gives one
    box. A peak whose lowest-level region holds a stronger peak already boxed is suppressed.
    At most ``max_boxes`` peaks; the score is the peak's scaled height.

    Parameters
    ----------
    levels : fractions of the peak's prominence bounding its regions, one box each
        (``(0.6, 0.85)``: a box near the lesion's extent and a tight one on its core).
    min_peak : weakest peak, as a fraction of the heatmap's range, that may start boxes.
    max_boxes : most peaks boxed per heatmap.
    min_area : boxes smaller than this many stored-image pixels are dropped.
    work_size : longest side the heatmap is upsampled to (``None``: the full image size).
        Box edges are quantized to ``image / work_size`` pixels (4 px for 1024 at 256).
    background : ``"median"`` of the upsampled map (robust to a few hot or cold spots) or
        ``"min"`` (the map's minimum, i.e. heights as the paper scales them).
    """

    levels: tuple[float, ...] = (0.6, 0.85)
    min_peak: float = 0.5
    max_boxes: int = 3
    min_area: float = 0.0
    work_size: int | None = 256
    background: str = "median"

    def __call__(self, heatmap: np.ndarray, image_size: tuple[int, int],
                 finding: str = "", probability: float | None = None,
                 registration: Registration | None = None) -> list[Box]:
        heatmap = np.asarray(heatmap, dtype=np.float32)
        scaled, sy, sx = _scaled_map(heatmap, image_size, self.work_size, registration)
        floor = float(np.median(scaled)) if self.background == "median" else 0.0
        levels = sorted(self.levels)
        boxes: list[Box] = []
        seeds: list[tuple[int, int]] = []
        # union of the regions grown so far: a weaker peak inside one of them grows a region
        # holding that one, hence a boxed seed, so it is suppressed without labelling again
        covered = np.zeros(scaled.shape, dtype=bool)
        for row, col in heatmap_peaks(heatmap, self.min_peak):
            if len(seeds) >= self.max_boxes:
                break
            seed = _cell_pixel((row, col), heatmap.shape, scaled.shape, registration)
            height = float(scaled[seed])
            if height <= floor or covered[seed]:
                continue
            labels, rows, cols = _region(scaled, seed, floor + levels[0] * (height - floor))
            covered[rows, cols] |= labels[rows, cols] == labels[seed]
            if any(labels[s] == labels[seed] for s in seeds):
                continue  # suppressed: a stronger peak already owns this region
            seeds.append(seed)
            regions = [(rows, cols)] + [_region(scaled, seed, floor + lv * (height - floor))[1:]
                                        for lv in levels[1:]]
            for rows, cols in regions:
                box = _box(rows, cols, sy, sx, height / 255.0, finding)
                if box.area >= self.min_area:
                    boxes.append(box)
        return boxes


def _cell_pixel(cell: tuple[int, int], cells: tuple[int, ...], shape: tuple[int, ...],
                registration: Registration | None) -> tuple[int, int]:
    """The pixel of a ``shape`` work map where the centre of ``cell`` of a ``cells`` map lies
    (where the upsampled map has that cell's value)."""
    seed = []
    for index, count, side in zip(cell, cells[-2:], shape, strict=True):
        if registration is None:
            pixel = int((index + 0.5) * side / count)
        else:
            centre = registration.stride * index + registration.offset
            pixel = round((centre + 0.5) * side / registration.input_size - 0.5)
        seed.append(min(max(pixel, 0), side - 1))
    return seed[0], seed[1]


def _region(scaled: np.ndarray, seed: tuple[int, int],
            cut: float) -> tuple[np.ndarray, slice, slice]:
    """Label ``scaled >= cut`` (8-connected) -> ``(labels, rows, cols)`` of ``seed``'s region."""
    labels, _ = ndimage.label(scaled >= cut, structure=np.ones((3, 3), dtype=bool))
    region = int(labels[seed])
    rows, cols = ndimage.find_objects(labels, max_label=region)[region - 1]
    return labels, rows, cols


@register_generator("region")
@dataclass
class RegionBoxGenerator:
    """One box per heatmap (by default): the extent of the hottest region, scored by the
    class probability times the region's relative heat.

    The map is upsampled (to at most ``work_size`` px) and its background taken as its median.
    The region is the connected set of pixels around the map's maximum whose heat is at
    least ``background + level * (peak - background)``; its bounding box is the box. With
    ``max_boxes > 1`` the next regions grow from the hottest pixel outside the regions found
    so far (each covering its pixels above the background's half-height), as long as their
    peak reaches ``min_relative`` of the first one's height above the background.

    Why one box: the paper's protocol boxes each finding given that the image has it, so a
    second box per finding is a false positive whenever the first one hits; one box caps AFP
    at 1 per image and leaves the choice of operating point to the score threshold. The score
    ``probability * relative heat`` ranks boxes across images (a confident finding's box
    first), which is what an accuracy-against-AFP curve needs; the paper's scores (peak heat
    of a min-max scaled map) are 1 for every map's first box.

    Parameters
    ----------
    level : fraction of the peak's height above the background that bounds the region
        (smaller: larger boxes). 0.6: on the simulated CAMs of
        ``tests/localize/test_generator_comparison.py`` it gives the best accuracy at
        AFP <= 1 at both IoBB > 0.5 and IoU > 0.3 among 0.4-0.8.
    levels : finding -> level, overriding ``level`` for those findings (fitted on held-out
        boxes, :mod:`chestx.localize.extent`).
    max_boxes : most boxes per heatmap.
    min_relative : weakest further region, as a fraction of the first one's height.
    work_size : longest side the heatmap is upsampled to (``None``: the full image size).
    """

    level: float = 0.6
    levels: Mapping[str, float] = field(default_factory=dict)
    max_boxes: int = 1
    min_relative: float = 0.6
    work_size: int | None = 256

    def __call__(self, heatmap: np.ndarray, image_size: tuple[int, int],
                 finding: str = "", probability: float | None = None,
                 registration: Registration | None = None) -> list[Box]:
        scaled, sy, sx = _scaled_map(np.asarray(heatmap, dtype=np.float32), image_size,
                                     self.work_size, registration)
        floor = float(np.median(scaled))
        free = np.ones(scaled.shape, dtype=bool)
        boxes: list[Box] = []
        first = None
        while len(boxes) < self.max_boxes and free.any():
            seed = np.unravel_index(np.argmax(np.where(free, scaled, -np.inf)), scaled.shape)
            height = float(scaled[seed]) - floor
            first = height if first is None else first
            if height <= 0 or height < self.min_relative * first:
                break
            level = float(self.levels.get(finding, self.level))
            _, rows, cols = _region(scaled, seed, floor + level * height)
            relative = height / first
            score = relative if probability is None else float(probability) * relative
            boxes.append(_box(rows, cols, sy, sx, score, finding))
            if len(boxes) == self.max_boxes:
                break  # no further region: skip labelling the map once more
            labels, _, _ = _region(scaled, seed, floor + 0.5 * height)
            free &= labels != labels[seed]
        return boxes
