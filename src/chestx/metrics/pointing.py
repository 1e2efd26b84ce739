"""Measures of the map apart from the box: the pointing game and the accuracy across levels.

- **Pointing game** (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV
  2016): for each image and finding with ground-truth boxes, a hit when the pixel where the
  class map (upsampled to the stored image) is largest lies inside one of the finding's
  boxes (its centre ``(col + 0.5, row + 0.5)`` inside ``[x, x + w) x [y, y + h)``; no
  tolerance margin). ``acc`` = hits / images. The map's maximum is one point per image, so
  there is no false-positive count: its counterweight is the box accuracy with AFP beside
  it in the same file. Rows with ``measure`` = ``pointing`` in ``localization.csv``.
- **Accuracy across the level** (MaxBoxAcc-style, Choe et al. CVPR 2020): the hit rate of
  the ``region`` boxes at every level of :data:`chestx.localize.extent.LEVELS`; the best
  level's (an upper bound: chosen on the boxes it scores) beside the fitted level's (chosen
  on other boxes), in ``box_extent.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from chestx.findings import FINDINGS
from chestx.localize.extent import TARGETS, BoxExtent, MapItem, boxed_maps, level_accuracy
from chestx.localize.heatmaps import upsample_heatmap
from chestx.localize.registration import Registration
from chestx.metrics.localization import RESULT_COLUMNS


def map_maximum(heatmap: np.ndarray, image_size: tuple[int, int],
                registration: Registration | None = None) -> tuple[int, int]:
    """``(row, col)`` of the largest pixel of ``heatmap (S, S)`` upsampled to
    ``image_size (H, W)`` (the first one on ties)."""
    up = upsample_heatmap(heatmap, image_size, registration)
    row, col = np.unravel_index(int(np.argmax(up)), up.shape)
    return int(row), int(col)


def point_in_boxes(point: tuple[int, int], boxes: np.ndarray) -> bool:
    """Whether pixel ``(row, col)``'s centre lies inside one of ``boxes (M, 4)`` (x, y, w, h)."""
    y, x = point[0] + 0.5, point[1] + 0.5
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    inside = ((boxes[:, 0] <= x) & (x < boxes[:, 0] + boxes[:, 2])
              & (boxes[:, 1] <= y) & (y < boxes[:, 1] + boxes[:, 3]))
    return bool(inside.any())


def pointing_hits(maps: Iterable[MapItem], gt: pd.DataFrame,
                  registration: Registration | None = None) -> pd.DataFrame:
    """``image, finding, row, col, hit`` per image and finding of ``gt`` among the maps'
    classes (``maps``: ``(image, image_size, classes, heatmaps (C, S, S), ...)``)."""
    records = []
    for image, size, finding, heat, boxes in boxed_maps(maps, gt):
        point = map_maximum(heat, size, registration)
        records.append((image, finding, *point,
                        point_in_boxes(point, boxes[["x", "y", "w", "h"]].to_numpy())))
    return pd.DataFrame(records, columns=["image", "finding", "row", "col", "hit"])


def pointing_scores(hits: pd.DataFrame, gt: pd.DataFrame, generator: str = "",
                    heatmap: str = "") -> pd.DataFrame:
    """:data:`RESULT_COLUMNS` rows with ``measure`` = ``pointing`` per finding (NIH order):
    ``acc`` the hit rate, ``threshold``, ``afp`` and ``acc_at_afp1`` empty (NaN)."""
    rows = []
    for finding in [f for f in FINDINGS if f in set(hits["finding"])]:
        mine = hits[hits["finding"] == finding]
        n_boxes = int((gt["Finding Label"] == finding).sum())
        rows.append((generator, heatmap, "pointing", np.nan, finding, float(mine["hit"].mean()),
                     np.nan, np.nan, len(mine), n_boxes))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def extent_table(overlaps: pd.DataFrame, extent: BoxExtent) -> pd.DataFrame:
    """Accuracy across the level on the scored boxes: :func:`level_accuracy` with a
    ``fitted`` column (the extent's level of the finding) and ``best`` (the level of the
    largest mean hit rate, the MaxBoxAcc-style upper bound)."""
    table = level_accuracy(overlaps)
    table["fitted"] = [np.isclose(level, extent.level(f))
                       for f, level in zip(table["finding"], table["level"], strict=True)]
    best = table.loc[table.groupby("finding", sort=False)["mean"].idxmax(), ["finding", "level"]]
    best_level = dict(zip(best["finding"], best["level"], strict=True))
    table["best"] = [np.isclose(level, best_level[f])
                     for f, level in zip(table["finding"], table["level"], strict=True)]
    return table


def extent_summary(table: pd.DataFrame) -> str:
    """Lines: per finding, the fitted level's and the best level's hit rates (each target)."""
    columns = [f"{m}_{t:g}" for m, t in TARGETS]
    names = {"iobb": "IoBB>", "iou": "IoU>"}
    labels = [f"{names[m]}{t:g}" for m, t in TARGETS]
    lines = ["accuracy across the level (region boxes): fitted level | best level (upper "
             "bound, chosen on the scored boxes)"]
    for finding in [f for f in FINDINGS if f in set(table["finding"])]:
        rows = table[table["finding"] == finding]
        parts = []
        for flag in ("fitted", "best"):
            row = rows[rows[flag]].iloc[0] if rows[flag].any() else None
            if row is None:
                parts.append(f"{flag} -")
                continue
            values = " ".join(f"{lab} {row[c]:.2f}" for lab, c in zip(labels, columns,
                                                                       strict=True))
            parts.append(f"{flag} {row['level']:g}: {values}")
        lines.append(f"  {finding:<14} " + " | ".join(parts))
    return "\n".join(lines)
