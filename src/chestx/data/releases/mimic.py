"""MIMIC-CXR-JPG 2.0.0 (Johnson et al. 2019) as PhysioNet ships it::

    mimic-cxr-2.0.0-chexpert.csv.gz   subject_id,study_id,Atelectasis,...  (per study)
    mimic-cxr-2.0.0-negbio.csv.gz     same columns, labelled by NegBio
    mimic-cxr-2.0.0-metadata.csv.gz   dicom_id,subject_id,study_id,...,ViewPosition,Rows,Columns
    mimic-cxr-2.0.0-split.csv.gz      dicom_id,study_id,subject_id,split  (train|validate|test)
    files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg

Labels are per study and go to every image of the study (CheXpert labeler by default,
``labeler="negbio"`` for the other file); values 1.0, 0.0, -1.0, empty. Images whose study
has no label row are dropped and counted. The view is ``ViewPosition`` (PA, AP, LATERAL, LL,
AP AXIAL, ... or empty). Patient: ``subject_id``. Official parts: the split file
(``validate`` -> val).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chestx.data.releases.base import DataOptions, Release, finish
from chestx.data.releases.tables import Problems, find_file, read_table, to_float
from chestx.errors import ChestxError

NAME = "mimic"
PREFIX = "mimic-cxr-2.0.0-"
_PARTS = {"train": "train", "validate": "val", "test": "test"}
_KEYS = ("subject_id", "study_id")


def _file(root: Path, kind: str) -> Path | None:
    return find_file(root, [f"{PREFIX}{kind}.csv.gz", f"{PREFIX}{kind}.csv"])


def detect(root: Path) -> bool:
    return _file(root, "metadata") is not None


def image_path(subject: str, study: str, dicom: str) -> str:
    """``files/p10/p10000032/s50414267/<dicom_id>.jpg`` of one image."""
    return f"files/p{subject[:2]}/p{subject}/s{study}/{dicom}.jpg"


def read(root: Path, options: DataOptions, labeler: str = "chexpert") -> Release:
    problems = Problems()
    meta = read_table(_file(root, "metadata"), problems,
                      required=("dicom_id", *_KEYS, "ViewPosition"))
    label_file = _file(root, labeler) or _file(root, "negbio" if labeler == "chexpert"
                                               else "chexpert")
    if label_file is None:
        raise ChestxError(f"{root / (PREFIX + labeler + '.csv.gz')}: not found (nor the other "
                          "labeler's file)")
    labels = read_table(label_file, problems, required=_KEYS)
    labels = labels.drop_duplicates(list(_KEYS))
    joined = meta.merge(labels, on=list(_KEYS), how="inner")
    if len(joined) < len(meta):
        problems.add(f"{label_file}: {len(meta) - len(joined)} images of studies without a "
                     "label row skipped")
    split = _file(root, "split")
    parts = pd.Series("", index=joined.index)
    if split is not None:
        table = read_table(split, problems, required=("dicom_id", "split"))
        found = dict(zip(table["dicom_id"], table["split"].map(_PARTS).fillna(""), strict=True))
        parts = joined["dicom_id"].map(found).fillna("")
    paths = [image_path(s, t, d) for s, t, d in
             zip(joined["subject_id"], joined["study_id"], joined["dicom_id"], strict=True)]
    raw = pd.DataFrame({"Image Index": joined["dicom_id"] + ".jpg", "Path": paths,
                        "Patient ID": joined["subject_id"],
                        "View Position": joined["ViewPosition"].str.upper(),
                        "OriginalImage[Width": joined.get("Columns"),
                        "Height]": joined.get("Rows"), "Split": parts})
    sources = [c for c in labels.columns if c not in _KEYS]
    values = pd.DataFrame({c: to_float(joined, c) for c in sources})
    return finish(NAME, root, raw, values, options, problems, label_file,
                  official=split is not None)

