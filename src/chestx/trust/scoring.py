"""The trust outputs of ``chestx evaluate``: calibrated probabilities, per-finding thresholds,
out-of-distribution scores, ``calibration.csv`` and ``calibration.png``.

``calibration.csv``: ``finding, ece_before, ece_after, brier, temperature``, one row per
finding, over the evaluated images: ECE (:mod:`chestx.metrics.calibration`, 15 equal-width
bins of that finding's predicted probability) of the uncalibrated probabilities
``sigmoid(z)`` and of the calibrated ``sigmoid(z / T)``, both as written to
``predictions.csv`` (6 decimals), so that the file can be checked from ``predictions.csv``
and the labels alone; the Brier score of the calibrated ones; the finding's temperature.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.atomic import atomic_open
from chestx.findings import DEFAULT_THRESHOLD
from chestx.metrics.calibration import brier_score, expected_calibration_error, plot_reliability
from chestx.trust.state import TrustState
from chestx.trust.temperature import sigmoid

CALIBRATION_COLUMNS = ("finding", "ece_before", "ece_after", "brier", "temperature")


@dataclass
class Scored:
    """``before``/``after`` ``(N, C)`` probabilities (6 decimals), ``thresholds`` ``(C,)``,
    ``ood_score`` ``(N,)`` (``nan`` without statistics), ``flagged`` bool ``(N,)``."""

    before: np.ndarray
    after: np.ndarray
    thresholds: np.ndarray
    threshold_source: str
    ood_score: np.ndarray
    flagged: np.ndarray

    def cells(self, n: int) -> list[str]:
        """The trust cells of image ``n``'s ``predictions.csv`` row."""
        score = self.ood_score[n]
        return ["" if math.isnan(score) else f"{score:.4f}", str(int(self.flagged[n])), ""]


def score_outputs(state: TrustState | None, logits: np.ndarray, features: np.ndarray,
                  threshold: float | None = None) -> Scored:
    """Apply ``state`` to ``(N, C)`` logits and ``(N, D)`` features (``threshold``: one for
    all findings instead of the operating point)."""
    before = np.round(sigmoid(logits), 6)
    if state is None:
        given = DEFAULT_THRESHOLD if threshold is None else threshold
        return Scored(before, before, np.full(logits.shape[1], given), f"threshold {given:g}",
                      np.full(len(logits), np.nan), np.zeros(len(logits), dtype=bool))
    verdict = state.verdict(logits, features, threshold=threshold)
    return Scored(before, np.round(verdict.probabilities, 6), verdict.thresholds,
                  verdict.threshold_source, verdict.ood_score, verdict.out_of_distribution)


def calibration_table(scored: Scored, labels: np.ndarray, classes, temperatures,
                      left_out: Collection[str] = ()) -> pd.DataFrame:
    """``calibration.csv``'s rows (see the module docstring), but for the findings in
    ``left_out`` (not labelled on one side, as in ``auc.csv``)."""
    rows = [{"finding": name,
             "ece_before": expected_calibration_error(scored.before[:, c], labels[:, c]),
             "ece_after": expected_calibration_error(scored.after[:, c], labels[:, c]),
             "brier": brier_score(scored.after[:, c], labels[:, c]),
             "temperature": float(temperatures[c])}
            for c, name in enumerate(classes) if name not in left_out]
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def write_calibration(out: Path, scored: Scored, labels: np.ndarray, classes,
                      state: TrustState | None, title: str, left_out: Collection[str] = ()
                      ) -> dict[str, Path]:
    """Write ``out/calibration.csv`` and ``out/calibration.png`` of the findings not in
    ``left_out``; return their paths."""
    temperatures = state.temperatures if state is not None else np.ones(len(classes))
    table = calibration_table(scored, labels, classes, temperatures, left_out)
    kept = [c for c, name in enumerate(classes) if name not in left_out]
    files = {"calibration": out / "calibration.csv", "calibration_plot": out / "calibration.png"}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(files["calibration"]) as handle:
        table.to_csv(handle, index=False, float_format="%.6f")
    plot_reliability(scored.before[:, kept], scored.after[:, kept], labels[:, kept],
                     [classes[c] for c in kept],
                     files["calibration_plot"], title=title)
    return files
