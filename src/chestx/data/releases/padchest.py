"""PadChest (Bustos et al. 2020) as BIMCV ships it::

    PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv   (or .csv.gz)
        ImageID,ImageDir,StudyDate_DICOM,StudyID,PatientID,PatientBirth,PatientSex_DICOM,
        ...,Projection,...,Labels,...   (Labels: "['pleural effusion', 'cardiomegaly']")
    0/216840111366964012283393834152009033102258826_00-059-087.png   (16-bit PNGs)
    1/...                                                      (<ImageDir>/<ImageID>)

``Labels`` is a Python-style list of lower-case findings (sometimes with stray spaces);
rows with an empty ``Labels`` cell carry no labels and are skipped with a count. The view
is ``Projection`` (PA, AP, L, AP_horizontal, COSTAL, EXCLUDE, UNK). Patient: ``PatientID``.
There is no official split: patient-wise splits are drawn.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.data.releases.base import DataOptions, Release, finish
from chestx.data.releases.tables import Problems, read_table

NAME = "padchest"
PATTERN = "PADCHEST_chest_x_ray_images_labels*.csv*"
_REQUIRED = ("ImageID", "ImageDir", "PatientID", "Projection", "Labels")


def _csv(root: Path) -> Path | None:
    found = sorted(p for p in root.glob(PATTERN) if p.is_file())
    return found[0] if found else None


def detect(root: Path) -> bool:
    return _csv(root) is not None


def parse_labels(cell: str) -> list[str]:
    """``"['pleural effusion', ' cardiomegaly']"`` -> ``["pleural effusion", "cardiomegaly"]``
    (stripped, empty items dropped); a malformed cell is split on commas."""
    text = cell.strip()
    try:
        items = ast.literal_eval(text)
        items = [items] if isinstance(items, str) else list(items)
    except (ValueError, SyntaxError):
        items = text.strip("[]").split(",")
    return [" ".join(str(i).strip().strip("'\"").split()) for i in items
            if str(i).strip().strip("'\"").strip()]


def _age(birth: pd.Series, study: pd.Series) -> pd.Series:
    born = pd.to_numeric(birth.str[:4], errors="coerce")
    seen = pd.to_numeric(study.str[:4], errors="coerce")
    return (seen - born).fillna(-1).astype(np.int64)


def read(root: Path, options: DataOptions) -> Release:
    problems = Problems()
    path = _csv(root)
    table = read_table(path, problems, required=_REQUIRED)
    unlabelled = table["Labels"].str.strip().isin(["", "nan", "None"])
    if unlabelled.any():
        problems.add(f"{path}: {int(unlabelled.sum())} images without Labels skipped")
        table = table[~unlabelled].reset_index(drop=True)
    lists = [parse_labels(cell) for cell in table["Labels"]]
    names = list(dict.fromkeys(label for items in lists for label in items))
    column = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(table), len(names)), dtype=np.float64)
    for row, items in enumerate(lists):
        matrix[row, [column[i] for i in items]] = 1.0
    values = pd.DataFrame(matrix, columns=names)
    folder = table["ImageDir"].str.replace(r"\.0$", "", regex=True)
    relative = folder + "/" + table["ImageID"]
    raw = pd.DataFrame({
        "Image Index": table["ImageID"], "Path": relative, "Patient ID": table["PatientID"],
        "View Position": table["Projection"].str.upper(),
        "Patient Age": _age(table.get("PatientBirth", pd.Series("", index=table.index)),
                            table.get("StudyDate_DICOM", pd.Series("", index=table.index))),
        "Patient Gender": table.get("PatientSex_DICOM", pd.Series("", index=table.index)),
        "Split": ""})
    return finish(NAME, root, raw, values, options, problems, path)
