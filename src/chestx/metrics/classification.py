"""Multi-label classification metrics: per-class ROC AUC (scikit-learn) and the ROC figure
in the style of the paper's Figs. 5 and 7 (one curve per finding in one plot)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from chestx.metrics.figures import write_figure


def per_class_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each column: ``labels`` 0/1 ``(N, C)``, ``scores`` ``(N, C)`` -> ``(C,)``.

    A NaN label is unknown (an uncertain label masked out): that image is left out of that
    class's AUC. A class with no known positive or no known negative has no ROC curve: ``nan``.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must be (N, C)")
    aucs = np.full(labels.shape[1], np.nan)
    for c in range(labels.shape[1]):
        kept = ~np.isnan(labels[:, c])
        column = labels[kept, c] > 0.5
        if column.any() and not column.all():
            aucs[c] = roc_auc_score(column, scores[kept, c])
    return aucs


def mean_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean of the defined per-class AUCs (``nan`` when no class has both outcomes)."""
    aucs = per_class_auc(labels, scores)
    return float(np.nanmean(aucs)) if np.isfinite(aucs).any() else math.nan


def auc_table(labels: np.ndarray, scores: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """``finding, auc, n_pos, n_neg`` per class plus a ``mean`` row (mean of defined AUCs,
    summed counts). Undefined AUCs are ``NaN`` (written as empty cells in CSV); NaN labels
    (unknown) count neither as positive nor as negative."""
    labels = np.asarray(labels, dtype=np.float64)
    aucs = per_class_auc(labels, scores)
    frame = pd.DataFrame({
        "finding": list(classes),
        "auc": aucs,
        "n_pos": (labels > 0.5).sum(axis=0).astype(int),
        "n_neg": (labels <= 0.5).sum(axis=0).astype(int),
    })
    mean = float(np.nanmean(aucs)) if np.isfinite(aucs).any() else math.nan
    mean_row = {"finding": "mean", "auc": mean, "n_pos": int(frame["n_pos"].sum()),
                "n_neg": int(frame["n_neg"].sum())}
    return pd.concat([frame, pd.DataFrame([mean_row])], ignore_index=True)


def plot_roc(labels: np.ndarray, scores: np.ndarray, classes: Sequence[str],
             path: str | os.PathLike, title: str = "ROC curves") -> Path:
    """One figure with every class's ROC curve (AUC in the legend), like the paper's Fig. 5;
    classes without both outcomes are left out. Written atomically (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels, dtype=np.float64)
    aucs = per_class_auc(labels, scores)
    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=120)
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(classes), 1)))
    for c, name in enumerate(classes):
        if not np.isfinite(aucs[c]):
            continue
        kept = ~np.isnan(labels[:, c])
        fpr, tpr, _ = roc_curve(labels[kept, c] > 0.5, np.asarray(scores)[kept, c])
        ax.plot(fpr, tpr, color=colors[c], lw=1.6, label=f"{name} ({aucs[c]:.3f})")
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False Positive Rate",
           ylabel="True Positive Rate", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, title="finding (AUC)")
    fig.tight_layout()
    return write_figure(fig, path)
