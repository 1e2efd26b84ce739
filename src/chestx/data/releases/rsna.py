"""RSNA Pneumonia Detection Challenge (stage 2) as Kaggle ships it::

    stage_2_train_labels.csv          patientId,x,y,width,height,Target  (one row per box;
                                      Target 0 rows have empty boxes)
    stage_2_detailed_class_info.csv   patientId,class  (Lung Opacity | No Lung Opacity /
                                      Not Normal | Normal)
    stage_2_train_images/<patientId>.dcm

``Target`` 1 (class ``Lung Opacity``) is the opacity the challenge boxed as evidence of
pneumonia: NIH's Pneumonia. Boxes are ``x, y, width, height`` in the stored pixels (1024 x
1024), the project's own contract. The CSVs do not say PA or AP (only the DICOM headers
do): every image is a frontal radiograph and has ``View Position`` ``FRONTAL``, kept
whenever PA or AP is. ``patientId`` names one image; it is the patient id. No official
split: patient-wise splits are drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chestx.data.releases.base import UNSPECIFIED_FRONTAL, DataOptions, Release, finish
from chestx.data.releases.tables import Problems, find_file, read_table, to_float

NAME = "rsna"
LABELS = "stage_2_train_labels.csv"
CLASSES = "stage_2_detailed_class_info.csv"
IMAGES = "stage_2_train_images"
OPACITY = "Lung Opacity"
#: The reader of every RSNA box (stage 2 boxes were adjudicated before release).
READER = "rsna"


def detect(root: Path) -> bool:
    return find_file(root, [LABELS, LABELS + ".gz"]) is not None


def read(root: Path, options: DataOptions) -> Release:
    problems = Problems()
    path = find_file(root, [LABELS, LABELS + ".gz"])
    table = read_table(path, problems, required=("patientId", "Target"))
    target = to_float(table, "Target").fillna(0.0)
    ids = list(dict.fromkeys(table["patientId"]))
    per_image = target.groupby(table["patientId"]).max()
    values = pd.DataFrame({OPACITY: per_image.reindex(ids).to_numpy()})
    classes = find_file(root, [CLASSES, CLASSES + ".gz"])
    if classes is not None:
        info = read_table(classes, problems, required=("patientId", "class"))
        first = info.drop_duplicates("patientId").set_index("patientId")["class"]
        for name in ("No Lung Opacity / Not Normal", "Normal"):
            values[name] = (first.reindex(ids) == name).to_numpy(dtype=np.float64)
    raw = pd.DataFrame({"Image Index": [f"{i}.dcm" for i in ids],
                        "Path": [f"{IMAGES}/{i}.dcm" for i in ids], "Patient ID": ids,
                        "View Position": UNSPECIFIED_FRONTAL, "Split": ""})
    boxed = table[target.eq(1)]
    numbers = {c: pd.to_numeric(boxed[c].replace("", None), errors="coerce")
               for c in ("x", "y", "width", "height")}
    whole = pd.concat(numbers, axis=1).notna().all(axis=1)
    boxes = pd.DataFrame({"Image Index": boxed["patientId"] + ".dcm",
                          "Finding Label": "Pneumonia", "x": numbers["x"], "y": numbers["y"],
                          "w": numbers["width"], "h": numbers["height"]})[whole]
    if options.readers == "all":
        boxes["reader"] = READER
    return finish(NAME, root, raw, values, options, problems, path, boxes.reset_index(drop=True))
