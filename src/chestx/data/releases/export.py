"""``chestx boxes export``: a release's boxes in the ``BBox_List_2017.csv`` layout."""

from __future__ import annotations

import os
from pathlib import Path

from chestx.data.bbox_csv import write_bbox_list
from chestx.data.releases.base import DataOptions
from chestx.data.releases.registry import ground_truth_boxes


def export_boxes(root: str | os.PathLike, out: str | os.PathLike,
                 options: DataOptions | None = None) -> tuple[Path, int]:
    """Write the boxes of the dataset at ``root`` to ``out`` (``Image Index`` = the image's
    file name; x, y, w, h in stored-image pixels; a ``reader`` column with
    ``options.readers == "all"``). Returns ``(out, number of boxes)``."""
    options = options or DataOptions()
    boxes = ground_truth_boxes(root, options)
    readers = "reader" in boxes.columns
    columns = ["Image Index", "Finding Label", "x", "y", "w", "h"] + (["reader"] if readers
                                                                       else [])
    rows = [tuple(row) for row in boxes[columns].itertuples(index=False)]
    return write_bbox_list(out, rows, readers=readers), len(rows)
