"""Dataset statistics in the layout of the paper's Table 16, and the label co-occurrence.

For each finding: ``count`` = images carrying it, ``overlap`` = images carrying it and at
least one other finding (the paper's "Ov."). Plus the number of images, of patients and of
``No Finding`` images. On NIH's own ``Data_Entry_2017.csv`` this reproduces the ChestX-ray14
column of Table 16 (112,120 images, 30,805 patients), except two misprints of the paper
(Infiltration 19,871 -> 19,870 in the CSV; Mass overlap 2,138 -> 3,608).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.atomic import atomic_path
from chestx.data.releases import Release
from chestx.findings import FINDINGS, labels_to_vector


def label_matrix(entries: pd.DataFrame) -> np.ndarray:
    """Finding Labels of ``entries`` -> bool ``(N, 14)`` in FINDINGS order."""
    cells = entries["Finding Labels"]
    vectors = {cell: labels_to_vector(cell, FINDINGS) > 0 for cell in cells.unique()}
    if not len(cells):
        return np.zeros((0, len(FINDINGS)), dtype=bool)
    return np.stack([vectors[cell] for cell in cells])


def dataset_stats(entries: pd.DataFrame) -> dict:
    """Table 16 of a :func:`~chestx.data.nih.read_data_entry` frame.

    Returns ``{"images": n, "patients": n, "no_finding": n, "findings": {name: {"count": n,
    "overlap": n}}}`` with the findings in FINDINGS order; all values are plain ints.
    """
    labels = label_matrix(entries)
    several = labels.sum(axis=1) >= 2
    findings = {name: {"count": int(labels[:, i].sum()),
                       "overlap": int((labels[:, i] & several).sum())}
                for i, name in enumerate(FINDINGS)}
    return {"images": int(len(entries)), "patients": int(entries["Patient ID"].nunique()),
            "no_finding": int((labels.sum(axis=1) == 0).sum()), "findings": findings}


def release_stats(release: Release) -> dict:
    """:func:`dataset_stats` of a release's kept images, plus ``excluded_views`` (images
    left out by view) and, per finding, ``uncertain``: images labelled -1.0 for it (counted
    apart from ``count``, the positives; under ``--uncertain ones`` they are in ``count``
    too). What else was left out is on the release (``excluded_views`` per view,
    ``dropped`` positives of source labels without an NIH counterpart)."""
    stats = dataset_stats(release.entries)
    uncertain = release.uncertain_counts()
    for name, row in stats["findings"].items():
        row["uncertain"] = uncertain[name]
    stats["excluded_views"] = int(sum(release.excluded_views.values()))
    return stats


def cooccurrence(entries: pd.DataFrame) -> pd.DataFrame:
    """``(14, 14)`` counts of images carrying both findings (diagonal: the finding's count)."""
    labels = label_matrix(entries).astype(np.int64)
    return pd.DataFrame(labels.T @ labels, index=list(FINDINGS), columns=list(FINDINGS))


def format_table(stats: dict) -> str:
    """Plain-text Table 16: one row per finding with count and overlap, then the totals."""
    width = max(len(name) for name in FINDINGS) + 2
    lines = [f"{'Item':<{width}}{'#':>9}{'Ov.':>9}"]
    for name, row in stats["findings"].items():
        lines.append(f"{name:<{width}}{row['count']:>9,}{row['overlap']:>9,}")
    lines.append(f"{'No Finding':<{width}}{stats['no_finding']:>9,}{0:>9,}")
    lines.append(f"{'Images':<{width}}{stats['images']:>9,}")
    lines.append(f"{'Patients':<{width}}{stats['patients']:>9,}")
    return "\n".join(lines)


def plot_cooccurrence(entries: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Draw the co-occurrence matrix (the paper's Fig. 2/8 as a heat map) to ``path``.

    Cells are counts of images with both findings on a log colour scale, annotated with the
    count; the diagonal shows each finding's total. Written atomically; returns the path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    matrix = cooccurrence(entries)
    values = matrix.to_numpy()
    fig, ax = plt.subplots(figsize=(9, 8))
    shown = np.where(values > 0, values, np.nan)
    image = ax.imshow(shown, cmap="viridis",
                      norm=LogNorm(vmin=1, vmax=max(int(values.max()), 2)))
    names = [name.replace("_", " ") for name in matrix.index]
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(len(names)), names)
    for (i, j), count in np.ndenumerate(values):
        ax.text(j, i, f"{count}", ha="center", va="center", fontsize=6,
                color="white" if count < values.max() ** 0.5 else "black")
    fig.colorbar(image, ax=ax, label="images with both findings")
    ax.set_title(f"Label co-occurrence ({len(entries):,} images)")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path
