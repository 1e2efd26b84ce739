"""The one ``predictions.csv`` and ``boxes.csv`` schema of every command that runs a model.

``predictions.csv``: :data:`PREDICTION_COLUMNS` (``Image Index, Path, Finding Labels``) then
one probability column per class, in the model's class order (calibrated when the checkpoint
has temperatures), then :data:`~chestx.inference.trusted.TRUST_COLUMNS` (``ood_score``,
``out_of_distribution`` 0/1, ``ood_reason``); ``Finding Labels`` lists the findings at or
above their threshold, most probable first, NIH style (``No Finding`` when none).
``boxes.csv``: :data:`chestx.data.bbox_csv.PRED_COLUMNS` (``Image Index, Finding Label,
x, y, w, h, score``) in pixels of the image as stored, written by that codec. ``chestx predict``,
``chestx localize`` and ``chestx evaluate`` all write them through :class:`PredictionTables`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chestx.atomic import atomic_open
from chestx.data.bbox_csv import pred_row, write_pred_boxes
from chestx.errors import ChestxError
from chestx.findings import NO_FINDING
from chestx.inference.forward import Prediction
from chestx.inference.trusted import TRUST_COLUMNS

#: The columns of ``predictions.csv`` before the per-class probabilities.
PREDICTION_COLUMNS = ("Image Index", "Path", "Finding Labels")
PREDICTIONS_FILE = "predictions.csv"
BOXES_FILE = "boxes.csv"


def prediction_header(classes: Sequence[str]) -> list[str]:
    """The header of ``predictions.csv`` for a model with ``classes``."""
    return [*PREDICTION_COLUMNS, *classes, *TRUST_COLUMNS]


def prediction_row(image: str, path: str, classes: Sequence[str], probabilities: np.ndarray,
                   threshold: float | np.ndarray, trust: Sequence[str] = ("", "", "")
                   ) -> list[str]:
    """One ``predictions.csv`` row; ``probabilities`` has shape ``(C,)`` in ``classes`` order,
    ``threshold`` is one for all or ``(C,)``; ``trust``: the cells of the trust columns."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    limits = np.broadcast_to(np.asarray(threshold, dtype=np.float64), len(classes))
    positives = [classes[i] for i in order if probabilities[i] >= limits[i]]
    return [image, path, "|".join(positives) or NO_FINDING,
            *(f"{float(v):.6f}" for v in probabilities), *trust]


class PredictionTables:
    """The rows of ``predictions.csv`` and ``boxes.csv`` in ``out``, written atomically.

    Parameters
    ----------
    out : the folder of the two files.
    classes : the model's class names (the probability columns).

    :meth:`resume` re-reads them so that a stopped run skips what it did.
    """

    def __init__(self, out: Path, classes: Sequence[str]) -> None:
        self.out = Path(out)
        self.header = prediction_header(classes)
        self.rows: list[list[str]] = []
        self.box_rows: list[list[str]] = []

    @property
    def paths(self) -> list[Path]:
        return [self.out / PREDICTIONS_FILE, self.out / BOXES_FILE]

    @classmethod
    def resume(cls, out: Path, classes: Sequence[str]) -> PredictionTables:
        """The tables already in ``out`` (empty when there are none)."""
        tables = cls(out, classes)
        predictions, boxes = tables.paths
        if not predictions.is_file():
            return tables
        with open(predictions, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows or rows[0] != tables.header:
            raise ChestxError(f"{predictions}: written for other classes or by another tool; "
                              "choose another output folder to start afresh",
                              remedies={"out": None})
        tables.rows = rows[1:]
        if boxes.is_file():
            with open(boxes, newline="", encoding="utf-8") as handle:
                tables.box_rows = list(csv.reader(handle))[1:]
        return tables

    def done(self) -> set[str]:
        """The ``Path`` of every image already in the table."""
        return {row[1] for row in self.rows}

    def add(self, p: Prediction) -> None:
        """Add one prediction's row and its boxes' rows."""
        trusted = hasattr(p, "csv_cells")
        self.rows.append(prediction_row(p.image, p.source, p.classes, p.probabilities,
                                        p.thresholds if trusted else p.threshold,
                                        p.csv_cells() if trusted else ("", "", "")))
        self.box_rows += [pred_row(p.image, b) for b in p.boxes]

    def write(self) -> list[Path]:
        """Write both files atomically (``out`` is created); return their paths."""
        return [self.write_predictions(), write_pred_boxes(self.paths[1], self.box_rows)]

    def write_predictions(self) -> Path:
        """Write ``predictions.csv`` alone (``out`` is created); return its path."""
        return _write_csv(self.paths[0], self.header, self.rows)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
