"""CheXpert (Irvin et al. 2019), v1.0 and v1.0-small, as Stanford ships it::

    CheXpert-v1.0-small/
        train.csv     Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,...,Support Devices
        valid.csv     (same columns; radiologist consensus, no uncertain labels)
        train/patient00001/study1/view1_frontal.jpg
        valid/patient64541/study1/view1_frontal.jpg

``Path`` is relative to the *parent* of the root (``CheXpert-v1.0-small/train/...``); its
first part is dropped so that a renamed root still reads. Labels: 1.0, 0.0, -1.0
(uncertain), empty (not mentioned). The view is ``Frontal/Lateral``, the projection of a
frontal image ``AP/PA`` (AP, PA, and rarely LL or RL). The patient is the ``patientNNNNN``
folder. Official parts: train.csv -> train, valid.csv -> val (the test set is not public).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from chestx.data.releases.base import UNSPECIFIED_FRONTAL, DataOptions, Release, finish
from chestx.data.releases.tables import Problems, read_table, to_float

NAME = "chexpert"
FILES = {"train.csv": "train", "valid.csv": "val"}
_META = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA")
_PATIENT = re.compile(r"patient(\d+)")


def detect(root: Path) -> bool:
    """A CheXpert root has ``train.csv`` or ``valid.csv`` whose header starts with ``Path``
    and has ``Frontal/Lateral``."""
    for name in FILES:
        path = root / name
        if path.is_file():
            with open(path, encoding="utf-8-sig", errors="replace") as handle:
                header = handle.readline()
            return header.startswith("Path,") and "Frontal/Lateral" in header
    return False


def _relative(path: str) -> str:
    """``CheXpert-v1.0-small/train/patient1/...`` -> ``train/patient1/...``."""
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[1:]) if parts[0].lower().startswith("chexpert") else "/".join(parts)


def _view(frontal_lateral: str, ap_pa: str) -> str:
    if frontal_lateral.strip().lower() == "lateral":
        return "LATERAL"
    return ap_pa.strip().upper() or UNSPECIFIED_FRONTAL


def read(root: Path, options: DataOptions) -> Release:
    problems = Problems()
    frames = []
    for name, part in FILES.items():
        if (root / name).is_file():
            table = read_table(root / name, problems, required=_META)
            table["Split"] = part
            frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    relative = table["Path"].map(_relative)
    patient = table["Path"].str.extract(_PATIENT, expand=False)
    raw = pd.DataFrame({
        "Image Index": relative, "Path": relative,
        "Patient ID": ("patient" + patient.fillna("unknown")),
        "View Position": [_view(f, p) for f, p in zip(table["Frontal/Lateral"], table["AP/PA"],
                                                       strict=True)],
        "Patient Age": table["Age"], "Patient Gender": table["Sex"].str[:1],
        "Split": table["Split"]})
    labels = [c for c in table.columns if c not in (*_META, "Split")]
    values = pd.DataFrame({c: to_float(table, c) for c in labels})
    return finish(NAME, root, raw, values, options, problems, root / "train.csv",
                  official=True)
