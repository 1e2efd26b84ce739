"""Box extent fitted per finding on a few held-out boxes (the few-shot protocol of Choe et
al., "Evaluating Weakly Supervised Object Localization Methods Right", CVPR 2020).

The ``region`` generator (:class:`chestx.localize.generators.RegionBoxGenerator`) boxes the
connected pixels around a map's maximum whose heat is at least ``level`` of the peak's height
above the background: the level sets the box's extent. One level for every finding makes
small findings' boxes too large (a nodule's map is as wide as the receptive field) and large
findings' boxes too small (a heart's map peaks in its middle). Here boxes *choose* the level,
one per finding, among :data:`LEVELS`: the one whose boxes hit most held-out ground-truth
boxes, the mean of the hit rates at IoBB > 0.5 and IoU > 0.3 (:data:`TARGETS`; ties: the
level nearest the default, then the larger mean IoU, so that a handful of boxes that no level
hits better than the default leave the default). Boxes never train the network, and the
boxes that fit a level never score it.

The fit (:class:`BoxExtent`) is stored in the checkpoint dict under :data:`EXTENT_KEY` and used
by every command that boxes maps; without one, every finding gets :data:`DEFAULT_LEVEL`
(today's single level).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chestx.localize.generators import DEFAULT_METHOD, RegionBoxGenerator
from chestx.localize.geometry import ELEMENTWISE
from chestx.localize.registration import Registration

#: Key of the fitted extent in a checkpoint dict.
EXTENT_KEY = "box_extent"
#: Levels (fractions of the peak's height above the map's median) the fit chooses from.
LEVELS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
#: The level of a finding without a fit: the region generator's default.
DEFAULT_LEVEL: float = RegionBoxGenerator.level
#: The hits the fit maximizes (their mean): the paper's headline IoBB and IoU thresholds.
TARGETS: tuple[tuple[str, float], ...] = (("iobb", 0.5), ("iou", 0.3))

#: One map to box: ``(image, image_size (H, W), classes, heatmaps (C, S, S), ...)``.
MapItem = tuple


@dataclass(frozen=True)
class BoxExtent:
    """Fitted region levels per finding.

    Attributes
    ----------
    levels : finding -> level (findings without one get ``default``).
    default : level of the other findings.
    heatmap_size : side ``S`` of the maps the levels were fitted on (``None``: unknown).
    calibrated_on : which boxes chose the levels (one line, shown in tables).
    n_boxes : finding -> number of calibration boxes.
    """

    levels: dict[str, float] = field(default_factory=dict)
    default: float = DEFAULT_LEVEL
    heatmap_size: int | None = None
    calibrated_on: str = "no boxes: the default level for every finding"
    n_boxes: dict[str, int] = field(default_factory=dict)

    def level(self, finding: str) -> float:
        return float(self.levels.get(finding, self.default))

    def generator_params(self, method: str = DEFAULT_METHOD) -> dict:
        """Keyword arguments for :func:`chestx.localize.build_generator` of ``method`` (the
        levels apply to the ``region`` generator only)."""
        if method != "region":
            return {}
        return {"level": float(self.default), "levels": dict(self.levels)}

    def to_dict(self) -> dict:
        return {"levels": {k: float(v) for k, v in self.levels.items()},
                "default": float(self.default), "heatmap_size": self.heatmap_size,
                "calibrated_on": self.calibrated_on,
                "n_boxes": {k: int(v) for k, v in self.n_boxes.items()}}

    @classmethod
    def from_dict(cls, data: Mapping | None) -> BoxExtent:
        """Read :meth:`to_dict` (``None`` or empty: the default extent)."""
        if not data:
            return cls()
        size = data.get("heatmap_size")
        return cls(levels={str(k): float(v) for k, v in dict(data.get("levels", {})).items()},
                   default=float(data.get("default", DEFAULT_LEVEL)),
                   heatmap_size=None if size is None else int(size),
                   calibrated_on=str(data.get("calibrated_on", "")),
                   n_boxes={str(k): int(v) for k, v in dict(data.get("n_boxes", {})).items()})


def extent_of(state: Mapping) -> BoxExtent:
    """The :class:`BoxExtent` a checkpoint dict stores (the default one when none)."""
    return BoxExtent.from_dict(state.get(EXTENT_KEY))


def boxed_maps(maps: Iterable[MapItem], gt: pd.DataFrame
               ) -> Iterator[tuple[str, tuple[int, int], str, np.ndarray, pd.DataFrame]]:
    """``(image, image_size (H, W), finding, heatmap (S, S), its boxes)`` for every image of
    ``maps`` and finding that has ground-truth boxes in ``gt`` and is among the map's
    classes: the one walk of maps against boxes that every map measure shares."""
    by_image = {name: rows for name, rows in gt.groupby("Image Index", sort=False)}
    for image, size, classes, heatmaps, *_ in maps:
        rows = by_image.get(image)
        if rows is None:
            continue
        for finding, boxes in rows.groupby("Finding Label", sort=False):
            if finding in classes:
                yield image, tuple(size), finding, heatmaps[list(classes).index(finding)], boxes


def level_overlaps(maps: Iterable[MapItem], gt: pd.DataFrame,
                   levels: Sequence[float] = LEVELS,
                   registration: Registration | None = None) -> pd.DataFrame:
    """Overlap of the ``region`` box at each level with each ground-truth box.

    Parameters
    ----------
    maps : ``(image, image_size, classes, heatmaps (C, S, S), ...)`` per image.
    gt : ground-truth boxes (:data:`chestx.data.nih.BBOX_COLUMNS`); the findings of an image
        that have boxes there and are among ``classes`` are boxed.
    levels : the levels tried.
    registration : where the maps' cells lie on the images.

    Returns
    -------
    pandas.DataFrame
        ``image, finding, gt_id, level, iobb, iou``: one row per ground-truth box and level
        (``gt_id`` indexes ``gt``'s rows; 0 overlap when the map gives no box).
    """
    generators = {lv: RegionBoxGenerator(level=lv) for lv in levels}
    records = []
    for image, size, finding, heat, boxes in boxed_maps(maps, gt):
        truth = boxes[["x", "y", "w", "h"]].to_numpy(np.float64)
        for level, generator in generators.items():
            found = generator(heat, size, finding, registration=registration)
            box = np.array(found[0].xywh if found else (0.0, 0.0, 0.0, 0.0))
            overlap = {m: ELEMENTWISE[m](box[None], truth) for m in ("iobb", "iou")}
            records.extend((image, finding, gt_id, level, overlap["iobb"][k],
                            overlap["iou"][k]) for k, gt_id in enumerate(boxes.index))
    return pd.DataFrame(records, columns=["image", "finding", "gt_id", "level", "iobb", "iou"])


def level_accuracy(overlaps: pd.DataFrame,
                   targets: Sequence[tuple[str, float]] = TARGETS) -> pd.DataFrame:
    """Hit rate of the ground-truth boxes per finding and level: ``finding, level``, one
    ``<measure>_<threshold>`` column per target (``measure > threshold``), their ``mean`` and
    ``mean_iou``. The accuracy across the level (MaxBoxAcc-style) is its maximum per
    finding."""
    frame = overlaps.assign(**{f"{m}_{t:g}": overlaps[m] > t for m, t in targets})
    columns = [f"{m}_{t:g}" for m, t in targets]
    table = frame.groupby(["finding", "level"], sort=False).agg(
        **{c: (c, "mean") for c in columns}, mean_iou=("iou", "mean")).reset_index()
    table.insert(2 + len(columns), "mean", table[columns].mean(axis=1))
    return table


def fit_extent(overlaps: pd.DataFrame, calibrated_on: str, heatmap_size: int | None = None,
               default: float = DEFAULT_LEVEL) -> BoxExtent:
    """Choose each finding's level from :func:`level_overlaps` of the calibration boxes
    (see the module docstring for the rule)."""
    if overlaps.empty:
        return BoxExtent(default=default, heatmap_size=heatmap_size,
                         calibrated_on=f"{calibrated_on}: none boxed; default level")
    table = level_accuracy(overlaps)
    table["distance"] = -(table["level"] - default).abs()
    levels = {}
    for finding, rows in table.groupby("finding", sort=False):
        best = rows.sort_values(["mean", "distance", "mean_iou"], ascending=False).iloc[0]
        levels[str(finding)] = float(best["level"])
    counts = overlaps.drop_duplicates("gt_id").groupby("finding").size()
    return BoxExtent(levels=levels, default=default, heatmap_size=heatmap_size,
                     calibrated_on=calibrated_on,
                     n_boxes={str(k): int(v) for k, v in counts.items()})
