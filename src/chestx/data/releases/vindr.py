"""VinDr-CXR 1.0.0 (Nguyen et al. 2022) as PhysioNet ships it::

    annotations/annotations_train.csv   image_id,rad_id,class_name,x_min,y_min,x_max,y_max
    annotations/annotations_test.csv    (the same; test boxes are the 5-reader consensus)
    annotations/image_labels_train.csv  image_id,rad_ID,Aortic enlargement,...,No finding
    annotations/image_labels_test.csv
    train/<image_id>.dicom              DICOM, MONOCHROME1 or MONOCHROME2
    test/<image_id>.dicom

Boxes are in the DICOM's stored pixels, top-left origin (``x_min, y_min, x_max, y_max``;
empty for ``No finding``). Each training image was read by 3 radiologists: an image label is
positive when **any** of them marked it (as torchxrayvision reads it); boxes are fused by the
majority rule of :mod:`chestx.data.releases.boxfusion`, or kept apart with ``readers="all"``;
the test set's boxes are already the 5 readers' consensus and are kept as they are.
All images are PA (the publisher's description). VinDr ships no patient id: each image is
its own patient. Official parts: train, test (val is drawn from train, patient-wise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chestx.data.releases.base import DataOptions, Release, empty_boxes, finish
from chestx.data.releases.boxfusion import fuse_boxes
from chestx.data.releases.labelmap import NONE, label_map
from chestx.data.releases.tables import Problems, find_file, read_table, to_float
from chestx.errors import ChestxError

NAME = "vindr"
PARTS = ("train", "test")
_BOX = ("image_id", "class_name", "x_min", "y_min", "x_max", "y_max")
_NOT_LABELS = {"image_id", "rad_id"}


def _file(root: Path, stem: str) -> Path | None:
    return find_file(root, [f"annotations/{stem}.csv", f"{stem}.csv",
                            f"annotations/{stem}.csv.gz", f"{stem}.csv.gz"])


def detect(root: Path) -> bool:
    return any(_file(root, f"annotations_{p}") or _file(root, f"image_labels_{p}")
               for p in PARTS)


def _reader_column(table: pd.DataFrame) -> pd.Series:
    for name in table.columns:
        if name.lower() == "rad_id":
            return table[name]
    return pd.Series("consensus", index=table.index)


def _image_labels(root: Path, part: str, annotations: pd.DataFrame, problems: Problems
                  ) -> pd.DataFrame:
    """Per-image label values of one part (any reader positive -> 1), indexed by image_id."""
    path = _file(root, f"image_labels_{part}")
    if path is not None:
        table = read_table(path, problems, required=("image_id",))
        labels = [c for c in table.columns if c.lower() not in _NOT_LABELS]
        values = pd.DataFrame({c: to_float(table, c) for c in labels})
        values["image_id"] = table["image_id"]
        return values.groupby("image_id", sort=False).max()
    # no label file: the class names of the boxes file are the image labels
    values = pd.crosstab(annotations["image_id"], annotations["class_name"]).clip(upper=1)
    return values.astype(np.float64)


def _boxes(annotations: pd.DataFrame, part: str, options: DataOptions, problems: Problems,
           source: Path) -> pd.DataFrame:
    frame = annotations.copy()
    coords = ["x_min", "y_min", "x_max", "y_max"]
    for column in coords:
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
    frame = frame[frame[coords].notna().all(axis=1)]
    mapping = label_map(NAME)
    targets = frame["class_name"].map(lambda c: mapping.target(c))
    keep_source = options.extra_labels & targets.eq(NONE)
    unmapped = targets.isna() | targets.eq(NONE)
    if (unmapped & ~keep_source).any():
        problems.add(f"{source}: {int((unmapped & ~keep_source).sum())} boxes of findings "
                     "without an NIH counterpart dropped")
    labels = targets.where(~keep_source, frame["class_name"])
    frame = frame[~unmapped | keep_source]
    boxes = pd.DataFrame({
        "Image Index": frame["image_id"] + ".dicom", "Finding Label": labels[frame.index],
        "x": frame["x_min"], "y": frame["y_min"], "w": frame["x_max"] - frame["x_min"],
        "h": frame["y_max"] - frame["y_min"], "reader": _reader_column(frame)})
    if options.readers == "all" or part == "test":  # test boxes are already the consensus
        return boxes.reset_index(drop=True)
    readers = _reader_column(annotations).groupby(annotations["image_id"] + ".dicom").nunique()
    return fuse_boxes(boxes, readers.to_dict())


def read(root: Path, options: DataOptions) -> Release:
    problems = Problems()
    raws, values, boxes = [], [], []
    for part in PARTS:
        path = _file(root, f"annotations_{part}")
        annotations = (read_table(path, problems, required=_BOX) if path is not None
                       else pd.DataFrame(columns=list(_BOX)))
        labels = _image_labels(root, part, annotations, problems)
        if labels.empty and annotations.empty:
            continue
        ids = labels.index.tolist()
        raws.append(pd.DataFrame({"Image Index": [f"{i}.dicom" for i in ids],
                                  "Path": [f"{part}/{i}.dicom" for i in ids],
                                  "Patient ID": ids, "View Position": "PA", "Split": part}))
        values.append(labels.reset_index(drop=True))
        if not annotations.empty:
            boxes.append(_boxes(annotations, part, options, problems, path))
    if not raws:
        raise ChestxError(f"{root / 'annotations'}: no VinDr-CXR label files")
    raw = pd.concat(raws, ignore_index=True)
    value_frame = pd.concat(values, ignore_index=True).fillna(0.0)
    box_frame = (pd.concat(boxes, ignore_index=True) if boxes
                 else empty_boxes(options.readers == "all"))
    return finish(NAME, root, raw, value_frame, options, problems,
                  _file(root, "image_labels_train") or root / "annotations", box_frame,
                  official=True)
