"""NIH ChestX-ray14 (and every folder chestx writes in its layout) as a release: the
reader of :mod:`chestx.data.nih`, unchanged, behind the release interface."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from chestx.data.bbox_csv import BBOX_NAMES, read_bbox_list
from chestx.data.nih import DATA_ENTRY_NAMES, read_data_entry
from chestx.data.releases.base import DataOptions, Release, keep_view
from chestx.data.releases.tables import Problems

NAME = "nih"


def detect(root: Path) -> bool:
    return any((root / name).is_file() for name in DATA_ENTRY_NAMES)


def read(root: Path, options: DataOptions) -> Release:
    """``root`` is the folder or its Data_Entry CSV. Views are filtered only when asked
    (``options.views``): NIH's images are frontal, and a folder ``chestx ingest`` built with
    ``--unknown-views keep`` keeps what its builder chose."""
    entries = read_data_entry(root)
    root = root if root.is_dir() else root.parent
    keep = (keep_view(entries["View Position"], options.views) if options.views is not None
            else entries["View Position"].notna().to_numpy())
    excluded = entries.loc[~keep, "View Position"].value_counts()
    entries = entries[keep].reset_index(drop=True)
    has_boxes = any((root / name).is_file() for name in BBOX_NAMES)
    boxes = read_bbox_list(root) if has_boxes else None
    return Release(NAME, root, entries, options, boxes=boxes,
                   excluded_views=Counter(excluded.to_dict()), problems=Problems(),
                   has_official_split=(root / "test_list.txt").is_file())
