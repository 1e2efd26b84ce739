"""Calibration metrics of predicted probabilities: expected calibration error (ECE, equal-width
bins), Brier score and the reliability diagram (Guo et al., ICML 2017, §2).

ECE of one finding, over ``N`` images with predicted probabilities ``p_i`` of that finding and
0/1 labels ``y_i``: the unit interval is cut into ``B`` (15) equal-width bins
``[b/B, (b+1)/B)`` (the last one closed at 1); image ``i`` falls in bin ``min(floor(p_i B),
B - 1)``; ``ECE = sum_b (n_b / N) |mean(y in b) - mean(p in b)|`` over the non-empty bins.
A finding is scored on its own column: multi-label findings are not exclusive classes.
Unknown labels (``nan``: uncertain under the ``ignore`` policy, or not labelled by the
dataset) are left out, as in the AUC.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chestx.metrics.figures import write_figure

#: Bins of the ECE and of the reliability diagram (Guo et al. use 15).
ECE_BINS = 15


def bin_index(probabilities: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """``(N,)`` probabilities in [0, 1] -> ``(N,)`` int bin of each, ``0 .. bins - 1``."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    return np.minimum((p * bins).astype(int), bins - 1)


def known(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n,)`` probabilities and 0/1 labels of the images whose label is known (not
    ``nan``), as float64."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    keep = np.isfinite(y)
    return p[keep], (y[keep] > 0.5).astype(np.float64)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin: ``(count (B,), mean probability (B,), observed frequency (B,))``; empty bins
    have ``nan`` means."""
    p, y = known(probabilities, labels)
    index = bin_index(p, bins)
    count = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=p, minlength=bins) / count
        frequency = np.bincount(index, weights=y, minlength=bins) / count
    return count, confidence, frequency


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """ECE of one finding: ``(N,)`` probabilities and 0/1 labels -> float (``nan`` if N = 0)."""
    count, confidence, frequency = reliability(probabilities, labels, bins)
    if count.sum() == 0:
        return float("nan")
    used = count > 0
    return float(np.sum(count[used] / count.sum() * np.abs(frequency[used] - confidence[used])))


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of the probabilities against the 0/1 labels, ``(N,)`` -> float."""
    p, y = known(probabilities, labels)
    return float(np.mean((p - y) ** 2)) if len(p) else float("nan")


def per_class_ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
                  ) -> np.ndarray:
    """ECE of every column: ``(N, C)`` probabilities and labels -> ``(C,)``."""
    return np.array([expected_calibration_error(probabilities[:, c], labels[:, c], bins)
                     for c in range(np.shape(probabilities)[1])])


def plot_reliability(before: np.ndarray, after: np.ndarray, labels: np.ndarray,
                     classes: Sequence[str], path: str | os.PathLike,
                     bins: int = ECE_BINS, title: str = "Reliability") -> Path:
    """One small reliability diagram per finding (observed frequency against mean predicted
    probability per bin, before and after calibration, ECE in the legend); ``before``,
    ``after`` and ``labels`` are ``(N, C)``. Written atomically (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = max(1, -(-len(classes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.8 * rows), dpi=100,
                             squeeze=False)
    for c, ax in enumerate(axes.ravel()):
        if c >= len(classes):
            ax.axis("off")
            continue
        for probs, colour, name in ((before, "tab:red", "before"), (after, "tab:blue", "after")):
            _, confidence, frequency = reliability(probs[:, c], labels[:, c], bins)
            ece = expected_calibration_error(probs[:, c], labels[:, c], bins)
            ax.plot(confidence, frequency, "o-", color=colour, ms=3, lw=1.2,
                    label=f"{name} ECE {ece:.3f}")
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{classes[c]} (n+={int(np.nansum(labels[:, c]))})")
        ax.tick_params(labelsize=7)
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{title}: observed frequency vs predicted probability, {bins} bins")
    fig.tight_layout()
    return write_figure(fig, path)
