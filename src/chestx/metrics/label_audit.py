"""A dataset's text-mined labels against radiologists' labels of the same images.

The radiologist file is the one of Majkowska et al. (Radiology 2019) for a subset of NIH
ChestX-ray14 (``google2019_nih-chest-xray-labels.csv.gz``): one row per image and reading
set, ``Image Index`` and the four findings ``Fracture``, ``Pneumothorax``, ``Airspace
opacity``, ``Nodule or mass`` as ``YES``/``NO``. Its findings are mapped to the 14 NIH
findings by the data file ``radiologist_findings.tsv`` (e.g. ``Nodule or mass`` = ``Nodule |
Mass``). Per finding, taking the radiologists' labels as the truth, the audit reports the
number of images both have, agreement, precision, recall, F1 and Cohen's kappa of the
dataset's labels. CSV files only: no images and no torch.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from chestx.data.nih import read_data_entry
from chestx.errors import ChestxError
from chestx.findings import FINDINGS

#: The mapping data file: radiologist finding -> NIH findings (``|``-joined).
MAPPING_FILE = Path(__file__).with_name("radiologist_findings.tsv")

#: Columns of the audit table (and of ``--out FILE.csv``).
AUDIT_COLUMNS = ["finding", "n", "agreement", "precision", "recall", "f1", "kappa"]

_ANSWERS = {"YES": 1, "NO": 0}


def read_mapping(path: str | os.PathLike = MAPPING_FILE) -> dict[str, tuple[str, ...]]:
    """``radiologist finding -> NIH findings`` (an empty tuple: not in NIH's 14)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    mapping = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        names = tuple(n for n in (row["nih_findings"] or "").split("|") if n)
        unknown = [n for n in names if n not in FINDINGS]
        if unknown:
            raise ChestxError(f"{path}: {unknown[0]!r} is not one of the 14 NIH findings")
        mapping[row["radiologist_finding"]] = names
    return mapping


def read_radiologist_labels(path: str | os.PathLike, findings: list[str]) -> pd.DataFrame:
    """The radiologists' labels: ``Image Index`` -> 0/1 per finding in ``findings``.

    An image with several rows (several reading sets) gets the majority answer; a tie
    counts as positive, as one reader's finding is what an adjudication would look at.
    Cells other than ``YES``/``NO`` (case and blanks ignored) are an error naming the line.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, EOFError, pd.errors.ParserError) as exc:
        raise ChestxError(f"{path}: cannot read ({exc})".replace("\n", " ")) from exc
    missing = [c for c in ["Image Index", *findings] if c not in frame.columns]
    if missing:
        raise ChestxError(f"{path}: no column {missing[0]!r} (a radiologist label file has "
                          f"Image Index and {', '.join(findings)})")
    answers = frame[findings].apply(lambda column: column.str.strip().str.upper())
    bad = ~answers.isin(list(_ANSWERS))
    if bad.to_numpy().any():
        row, col = (int(i[0]) for i in np.nonzero(bad.to_numpy()))
        raise ChestxError(f"{path}: line {row + 2}: {findings[col]} is "
                          f"{frame[findings[col]].iloc[row]!r}, not YES or NO")
    values = answers.replace(_ANSWERS).astype(np.int64)
    values.insert(0, "Image Index", frame["Image Index"].str.strip())
    votes = values.groupby("Image Index", sort=True).mean()
    return (votes >= 0.5).astype(np.int64)


def dataset_labels(entries: pd.DataFrame, mapping: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """``Image Index`` -> 0/1 per radiologist finding from the dataset's ``Finding Labels``
    (an image is positive when it carries any of the mapped NIH findings)."""
    found = entries["Finding Labels"].str.split("|").map(set)
    columns = {name: found.map(lambda labels, nih=nih: int(bool(labels & set(nih))))
               for name, nih in mapping.items()}
    return pd.DataFrame(columns).set_axis(entries["Image Index"].to_numpy(), axis=0)


def agreement_row(finding: str, dataset: np.ndarray, truth: np.ndarray) -> dict:
    """One audit row from two 0/1 vectors ``(n,)``: the dataset's labels and the truth.

    Precision, recall and F1 are of the dataset's positives; Cohen's kappa is
    ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from the two marginals. A ratio whose
    denominator is 0 is NaN."""
    n = len(truth)
    tp = int(np.sum((dataset == 1) & (truth == 1)))
    fp = int(np.sum((dataset == 1) & (truth == 0)))
    fn = int(np.sum((dataset == 0) & (truth == 1)))
    tn = n - tp - fp - fn

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    observed = ratio(tp + tn, n)
    expected = ratio((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn), n * n)
    return {"finding": finding, "n": n, "agreement": observed, "precision": precision,
            "recall": recall, "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "kappa": ratio(observed - expected, 1 - expected)}


def audit_labels(entries: pd.DataFrame, radiologists: pd.DataFrame,
                 mapping: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The audit table (:data:`AUDIT_COLUMNS`) on the images both frames hold, one row per
    radiologist finding that maps to NIH findings."""
    mapped = {name: nih for name, nih in mapping.items() if nih and name in radiologists}
    ours = dataset_labels(entries, mapped)
    common = ours.index.intersection(radiologists.index)
    rows = [agreement_row(name, ours.loc[common, name].to_numpy(),
                          radiologists.loc[common, name].to_numpy()) for name in mapped]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def audit_files(data: str | os.PathLike, against: str | os.PathLike,
                mapping_file: str | os.PathLike = MAPPING_FILE) -> pd.DataFrame:
    """:func:`audit_labels` of a dataset folder (or its Data_Entry CSV) against a
    radiologist label file; :class:`ChestxError` when they share no image."""
    mapping = read_mapping(mapping_file)
    radiologists = read_radiologist_labels(against, list(mapping))
    entries = read_data_entry(data)
    table = audit_labels(entries, radiologists, mapping)
    if table.empty or table["n"].max() == 0:
        raise ChestxError(f"{against}: no image in common with {data}")
    return table


def radiologist_auc(image_ids: list[str], probabilities: np.ndarray, classes: list[str],
                    entries: pd.DataFrame, radiologists: pd.DataFrame,
                    mapping: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """A model's ROC AUC against the radiologists' labels, beside its AUC against the
    dataset's own labels, on the images of ``image_ids`` that the radiologists read.

    ``probabilities`` ``(N, C)`` are the model's for ``image_ids`` (N) and ``classes`` (C);
    a radiologist finding's score is the highest probability of its mapped NIH findings.
    Columns: ``finding, n, positives_radiologists, auc_radiologists, positives_dataset,
    auc_dataset`` (an AUC is NaN when its labels have one class only)."""
    mapped = {name: nih for name, nih in mapping.items()
              if nih and name in radiologists and set(nih) <= set(classes)}
    scores = pd.DataFrame(probabilities, index=image_ids, columns=classes)
    common = scores.index.intersection(radiologists.index)
    ours = dataset_labels(entries.set_index("Image Index", drop=False).loc[common]
                          .reset_index(drop=True), mapped)

    def auc(labels: np.ndarray, score: np.ndarray) -> float:
        return float(roc_auc_score(labels, score)) if 0 < labels.sum() < len(labels) \
            else float("nan")

    rows = []
    for name, nih in mapped.items():
        score = scores.loc[common, list(nih)].max(axis=1).to_numpy()
        truth = radiologists.loc[common, name].to_numpy()
        own = ours.loc[common, name].to_numpy()
        rows.append({"finding": name, "n": len(common),
                     "positives_radiologists": int(truth.sum()),
                     "auc_radiologists": auc(truth, score),
                     "positives_dataset": int(own.sum()), "auc_dataset": auc(own, score)})
    return pd.DataFrame(rows, columns=["finding", "n", "positives_radiologists",
                                       "auc_radiologists", "positives_dataset", "auc_dataset"])
