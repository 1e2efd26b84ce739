"""Fusing the boxes several radiologists drew for one finding on one image (VinDr-CXR).

The rule, in order:

1. Boxes of one finding on one image are taken in file order. A box joins the first
   cluster whose fused box it overlaps with IoU >= :data:`FUSE_IOU` and that holds no box
   of the same reader yet; otherwise it starts a cluster.
2. A cluster is kept when its boxes come from a majority of the image's readers (more than
   half: 2 of VinDr's 3 training radiologists; the single consensus "reader" of the test
   set always).
3. The fused box is the mean of the cluster's corners: weighted box fusion with equal
   weights (VinDr's boxes carry no confidence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: IoU at which two radiologists' boxes are taken for the same lesion (the threshold used
#: for VinDr-CXR in its Kaggle challenge's box fusion).
FUSE_IOU = 0.4


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two corner boxes ``(x0, y0, x1, y1)``."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def fuse_group(corners: np.ndarray, readers: list[str], n_readers: int) -> list[np.ndarray]:
    """Fused corner boxes of one (image, finding): ``corners`` ``(K, 4)`` x0,y0,x1,y1 from
    ``readers`` (K names); ``n_readers`` read the image. Returns the kept fused boxes."""
    clusters: list[tuple[list[int], np.ndarray]] = []
    for k in range(len(corners)):
        for members, fused in clusters:
            if readers[k] not in {readers[m] for m in members} and iou(fused, corners[k]) \
                    >= FUSE_IOU:
                members.append(k)
                fused[:] = corners[members].mean(axis=0)
                break
        else:
            clusters.append(([k], corners[k].astype(np.float64).copy()))
    needed = n_readers // 2 + 1
    return [fused for members, fused in clusters
            if len({readers[m] for m in members}) >= min(needed, max(n_readers, 1))]


def fuse_boxes(boxes: pd.DataFrame, readers_per_image: dict[str, int]) -> pd.DataFrame:
    """Fuse a frame ``Image Index, Finding Label, x, y, w, h, reader`` by the module's rule;
    returns ``Image Index, Finding Label, x, y, w, h`` (file order of first appearance)."""
    rows = []
    for (image, finding), group in boxes.groupby(["Image Index", "Finding Label"], sort=False):
        corners = group[["x", "y", "w", "h"]].to_numpy(dtype=np.float64).copy()
        corners[:, 2:] += corners[:, :2]
        for fused in fuse_group(corners, group["reader"].tolist(),
                                readers_per_image.get(image, 1)):
            rows.append((image, finding, fused[0], fused[1], fused[2] - fused[0],
                         fused[3] - fused[1]))
    return pd.DataFrame(rows, columns=["Image Index", "Finding Label", "x", "y", "w", "h"])
