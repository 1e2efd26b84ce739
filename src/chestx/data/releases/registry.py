"""The release readers by name, layout detection and :func:`open_dataset`, the one entry
point by which stats, split, train, evaluate, predict, localize and cache read ``--data``.

>>> sorted(RELEASES.names())
['chexpert', 'mimic', 'nih', 'padchest', 'rsna', 'vindr']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chestx.data.bbox_csv import read_bbox_list
from chestx.data.nih import DATA_ENTRY_NAMES
from chestx.data.releases import chexpert, mimic, nih_release, padchest, rsna, vindr
from chestx.data.releases.base import DataOptions, Release
from chestx.errors import ChestxError
from chestx.registry import Registry


@dataclass(frozen=True)
class Reader:
    """A release reader: ``title`` for messages, ``detect(root) -> bool`` on the files'
    names and headers alone, ``read(root, options) -> Release``."""

    title: str
    detect: Callable[[Path], bool]
    read: Callable[[Path, DataOptions], Release]


#: Tried in this order by :func:`detect_release` (NIH first: the project's own layout).
RELEASES: Registry[Reader] = Registry("dataset", {
    "nih": Reader("NIH ChestX-ray14", nih_release.detect, nih_release.read),
    "chexpert": Reader("CheXpert", chexpert.detect, chexpert.read),
    "mimic": Reader("MIMIC-CXR-JPG 2.0.0", mimic.detect, mimic.read),
    "padchest": Reader("PadChest", padchest.detect, padchest.read),
    "vindr": Reader("VinDr-CXR", vindr.detect, vindr.read),
    "rsna": Reader("RSNA Pneumonia Detection", rsna.detect, rsna.read),
})


def detect_release(root: str | os.PathLike) -> str:
    """The name of the release whose layout ``root`` has (a folder, or NIH's CSV itself);
    :class:`ChestxError` naming the folder when none matches."""
    root = Path(root)
    if root.is_file():
        return "nih"
    if not root.is_dir():
        raise ChestxError(f"{root}: dataset folder not found")
    for name in RELEASES:
        if RELEASES[name].detect(root):
            return name
    others = ", ".join(RELEASES[n].title for n in RELEASES if n != "nih")
    raise ChestxError(f"{root / DATA_ENTRY_NAMES[0]}: not found, nor another known layout "
                      f"({others}; --dataset forces one)")


def open_dataset(root: str | os.PathLike, options: DataOptions | None = None) -> Release:
    """Read the release at ``root`` (detected, or ``options.dataset``) -> :class:`Release`.

    Reads metadata only (CSV files; image files are checked for existence, never opened).
    """
    options = options or DataOptions()
    root = Path(root)
    name = options.dataset or detect_release(root)
    reader = RELEASES.get(name)
    if name != "nih" and not root.is_dir():
        raise ChestxError(f"{root}: {reader.title} needs its root folder")
    return reader.read(root, options)


def ground_truth_boxes(path: str | os.PathLike, options: DataOptions | None = None
                       ) -> pd.DataFrame:
    """Ground-truth boxes from a box file (``BBox_List_2017.csv`` layout, maybe with a
    ``reader`` column) or from a dataset root that has boxes (NIH's ``BBox_List_2017.csv``,
    VinDr-CXR, RSNA): :data:`chestx.data.bbox_csv.BBOX_COLUMNS` (+ ``reader``), stored pixels."""
    path = Path(path)
    if path.is_file():
        return read_bbox_list(path)
    release = open_dataset(path, options)
    if release.boxes is None:
        raise ChestxError(f"{path}: this {RELEASES[release.name].title} folder has no boxes")
    return release.boxes
