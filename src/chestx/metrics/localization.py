"""Localization metrics of the paper: IoU, IoBB, accuracy (Acc) and average false positives (AFP).

Definitions (boxes are ``x, y, w, h`` in pixels of the stored image, top-left origin; a box
covers the continuous area ``[x, x + w) x [y, y + h)``, so its area is ``w * h``):

- ``IoU(p, g) = area(p ∩ g) / area(p ∪ g)``;
- ``IoBB(p, g) = area(p ∩ g) / area(p)`` (intersection over the detected box);
- a predicted box ``p`` *hits* a ground-truth box ``g`` at threshold ``T`` when both have the
  same finding, lie on the same image and ``IoU(p, g) > T`` (or ``IoBB(p, g) > T``), strictly;
- for a finding ``c``, over the images that have at least one ground-truth box of ``c``
  (``n_images``; ``n_boxes`` is the number of their ground-truth boxes of ``c``):
  ``Acc = (ground-truth boxes of c hit by at least one predicted box of c) / n_boxes`` and
  ``AFP = (predicted boxes of c on those images that hit no ground-truth box of c) / n_images``.
  Predicted boxes on other images, or of findings without ground truth on that image, are not
  scored (the paper scores each finding only on the images annotated with it).

The threshold grids are the paper's: ``T(IoBB)`` in Table 4 / 19 and ``T(IoU)`` in Table 7.

Accuracy against false positives (an FROC-style curve, as detection benchmarks such as LUNA16
report): keeping only the predicted boxes whose ``score`` is at least ``t`` and sweeping
``t`` over the scores gives one ``(AFP(t), Acc(t))`` point per score. ``acc_at_afp1`` is the
largest ``Acc(t)`` among the points with ``AFP(t) <= 1`` (0 when even the best-scored box
alone exceeds it): one number that cannot be bought with more boxes. Boxes without a score
count as score 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.atomic import atomic_path
from chestx.boxes import Box
from chestx.data.bbox_csv import (
    BBOX_COLUMNS,
    PRED_COLUMNS,
    pred_row,
    write_pred_boxes,
)
from chestx.data.releases import DataOptions, ground_truth_boxes
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, canonical
from chestx.localize.geometry import ELEMENTWISE
from chestx.metrics.figures import write_figure

#: Thresholds of the paper's Table 4 (and 19): a hit needs IoBB > T.
IOBB_THRESHOLDS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
#: Thresholds of the paper's Table 7: a hit needs IoU > T.
IOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
MEASURES: dict[str, tuple[float, ...]] = {"iobb": IOBB_THRESHOLDS, "iou": IOU_THRESHOLDS}

RESULT_COLUMNS = ["generator", "heatmap", "measure", "threshold", "finding", "acc", "afp",
                  "acc_at_afp1", "n_images", "n_boxes"]
#: The AFP cap of ``acc_at_afp1``.
MAX_AFP = 1.0
#: Heatmap side ``S`` that ``chestx evaluate`` localizes at unless told otherwise: the
#: paper's 32 (its 1024 px at stride 32), reached at smaller images by rebuilding the trained
#: model dilated (:func:`chestx.models.checkpoint.finest_heatmap_size`: where 32 cannot be
#: reached without pooling, the finest side that can, or the model's own).
LOCALIZATION_HEATMAP_SIZE: int = 32


KEY = ["Image Index", "Finding Label"]


def _scored_pairs(pred: pd.DataFrame, gt: pd.DataFrame, measure: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(gt, pred, pairs)``: ids on both sides, and every (pred, gt) pair of the same image
    and finding with its ``overlap`` (predicted boxes on other images dropped)."""
    gt = gt[KEY + ["x", "y", "w", "h"]].reset_index(drop=True).assign(gt_id=lambda f: f.index)
    scores = pred["score"] if "score" in pred.columns else pd.Series(1.0, index=pred.index)
    pred = pred[KEY + ["x", "y", "w", "h"]].assign(score=scores.fillna(1.0).to_numpy())
    pred = pred.merge(gt[KEY].drop_duplicates(), on=KEY)
    pred = pred.reset_index(drop=True).assign(pred_id=lambda f: f.index)
    pairs = pred.merge(gt, on=KEY, suffixes=("_p", "_g"))
    pairs["overlap"] = ELEMENTWISE[measure](
        pairs[["x_p", "y_p", "w_p", "h_p"]].to_numpy(np.float64),
        pairs[["x_g", "y_g", "w_g", "h_g"]].to_numpy(np.float64))
    return gt, pred, pairs


def best_overlaps(pred: pd.DataFrame, gt: pd.DataFrame,
                  measure: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best overlap of every ground-truth box and of every scored predicted box.

    A predicted box is scored when its image has ground truth of its finding; it is compared
    with those ground-truth boxes only. Returns ``(gt, pred)`` copies with a ``best`` column:
    the largest overlap (``measure``) with a box of the other side (0 when none).
    """
    gt, pred, pairs = _scored_pairs(pred, gt, measure)
    gt_best, pred_best = np.zeros(len(gt)), np.zeros(len(pred))
    np.maximum.at(gt_best, pairs["gt_id"].to_numpy(), pairs["overlap"].to_numpy())
    np.maximum.at(pred_best, pairs["pred_id"].to_numpy(), pairs["overlap"].to_numpy())
    return gt.assign(best=gt_best), pred.assign(best=pred_best)


def froc_points(pred: pd.DataFrame, gt: pd.DataFrame, measure: str,
                threshold: float) -> pd.DataFrame:
    """Accuracy against AFP as the box score threshold falls, per finding.

    Returns a frame ``finding, score, acc, afp``: for each finding with ground truth and each
    distinct score ``t`` of its scored boxes (highest first), Acc and AFP (module docstring)
    of the boxes scored ``>= t``, hits meaning ``measure > threshold``.
    """
    gt, pred, pairs = _scored_pairs(pred, gt, measure)
    hits = pairs[pairs["overlap"] > threshold]
    # a ground-truth box counts from the best score of the boxes that hit it
    gt_score = np.full(len(gt), -np.inf)
    np.maximum.at(gt_score, hits["gt_id"].to_numpy(), hits["score"].to_numpy())
    false = ~pred["pred_id"].isin(set(hits["pred_id"])).to_numpy()
    rows = []
    for finding in [f for f in FINDINGS if f in set(gt["Finding Label"])]:
        mine = (gt["Finding Label"] == finding).to_numpy()
        n_images = gt.loc[mine, "Image Index"].nunique()
        theirs = (pred["Finding Label"] == finding).to_numpy()
        scores = pred.loc[theirs, "score"].to_numpy()
        false_scores = pred.loc[theirs & false, "score"].to_numpy()
        for t in np.unique(scores)[::-1]:
            rows.append((finding, float(t), float((gt_score[mine] >= t).mean()),
                         float((false_scores >= t).sum()) / n_images))
    # typed even when empty (no boxes at all), so callers can do arithmetic on it
    return pd.DataFrame(rows, columns=["finding", "score", "acc", "afp"]).astype(
        {"finding": str, "score": float, "acc": float, "afp": float})


def acc_at_afp(points: pd.DataFrame, finding: str, max_afp: float = MAX_AFP) -> float:
    """The best Acc of ``finding``'s :func:`froc_points` whose AFP is at most ``max_afp``."""
    rows = points[(points["finding"] == finding) & (points["afp"] <= max_afp + 1e-12)]
    return float(rows["acc"].max()) if len(rows) else 0.0


def localization_scores(pred: pd.DataFrame, gt: pd.DataFrame,
                        measures: Sequence[str] = ("iobb", "iou"), generator: str = "",
                        heatmap: str = "") -> pd.DataFrame:
    """Acc, AFP and Acc at AFP <= 1 per measure, threshold and finding (findings with ground
    truth, NIH order).

    ``pred`` and ``gt`` are frames with :data:`BBOX_COLUMNS` (canonical finding names; ``pred``
    may have ``score``). Returns a frame with :data:`RESULT_COLUMNS`; ``acc`` and ``afp`` as
    defined in the module docstring (a ground-truth box is hit when its best overlap is > T, a
    scored predicted box is false when its best overlap is <= T), ``acc_at_afp1`` from the
    accuracy-against-AFP curve; ``generator`` and ``heatmap`` name what made the boxes.
    """
    findings = [f for f in FINDINGS if f in set(gt["Finding Label"])]
    rows = []
    for measure in measures:
        gt_best, pred_best = best_overlaps(pred, gt, measure)
        curves = {t: froc_points(pred, gt, measure, t) for t in MEASURES[measure]}
        for finding in findings:
            g = gt_best.loc[gt_best["Finding Label"] == finding, "best"].to_numpy()
            p = pred_best.loc[pred_best["Finding Label"] == finding, "best"].to_numpy()
            n_images = gt_best.loc[gt_best["Finding Label"] == finding, "Image Index"].nunique()
            for threshold, points in curves.items():
                rows.append((generator, heatmap, measure, threshold, finding,
                             float((g > threshold).mean()),
                             float((p <= threshold).sum()) / n_images,
                             acc_at_afp(points, finding), n_images, len(g)))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def mean_acc(scores: pd.DataFrame, measure: str, threshold: float,
             findings: Sequence[str] | None = None) -> float:
    """Acc averaged over findings (all scored ones, or ``findings``) at one threshold."""
    rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]
    if findings is not None:
        rows = rows[rows["finding"].isin(list(findings))]
    return float(rows["acc"].mean()) if len(rows) else float("nan")


def table_title(scores: pd.DataFrame, measure: str = "iobb") -> str:
    """``Table 4 (IoBB) layout: boxes of the <generator> generator from <heatmap> heatmaps``,
    saying which generator made them (the paper's is the one to compare with the paper)."""
    table = "Table 4 (IoBB)" if measure == "iobb" else "Table 7 (IoU)"
    generator = next(iter(scores["generator"]), "") if "generator" in scores else ""
    heatmap = next(iter(scores["heatmap"]), "") if "heatmap" in scores else ""
    if generator == "paper":
        made = "the paper's generator (thresholds 60 / 180; compare with the paper's table)"
    elif generator:
        made = f"chestx's {generator!r} generator (not the paper's)"
    else:
        made = "the given boxes"
    source = f" from {heatmap} heatmaps" if heatmap else ""
    return f"{table} layout: boxes of {made}{source}"


def format_table(scores: pd.DataFrame, measure: str = "iobb", digits: int = 4,
                 title: bool = False) -> str:
    """The paper's Table 4 (``iobb``) / Table 7 (``iou``) layout as plain text.

    One column per finding (NIH order) plus their mean; for each threshold a ``T(...) = t``
    line followed by an ``Acc.`` and an ``AFP`` row, and ``Acc.@AFP<=1`` (the accuracy at
    AFP <= 1 of the accuracy-against-AFP curve). ``title``: a first line from
    :func:`table_title`.
    """
    rows = scores[scores["measure"] == measure]
    findings = [f for f in FINDINGS if f in set(rows["finding"])]
    label = "T(IoBB)" if measure == "iobb" else "T(IoU)"
    width = max([len(f) for f in findings] + [digits + 2])
    lines = [table_title(scores, measure)] if title else []
    lines.append(f"{label:<16}" + "".join(f" {f:>{width}}" for f in [*findings, "Mean"]))
    for threshold in MEASURES[measure]:
        at = rows[np.isclose(rows["threshold"], threshold)].set_index("finding")
        lines.append(f"{label} = {threshold:g}")
        for name, column in (("Acc.", "acc"), ("AFP", "afp"), ("Acc.@AFP<=1", "acc_at_afp1")):
            values = [float(at.loc[f, column]) for f in findings]
            values.append(float(np.mean(values)) if values else float("nan"))
            lines.append(f"  {name:<14}" + "".join(f" {v:>{width}.{digits}f}" for v in values))
    return "\n".join(lines)


def _bad(path: Path, message: str) -> ChestxError:
    return ChestxError(f"{path}: {message}")


def read_pred_boxes(path: str | os.PathLike) -> pd.DataFrame:
    """Read predicted boxes: CSV ``Image Index,Finding Label,x,y,w,h[,score]``.

    Returns a frame with :data:`PRED_COLUMNS` (``score`` NaN when absent); finding names are
    canonical (``Infiltrate`` -> ``Infiltration``). Raises ChestxError naming the file and line.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise _bad(path, "not found") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise _bad(path, f"cannot read as CSV ({str(exc).strip()})") from exc
    missing = [c for c in BBOX_COLUMNS if c not in frame.columns]
    if missing:
        raise _bad(path, f"missing column(s) {', '.join(missing)} "
                         f"(expected {','.join(PRED_COLUMNS)})")
    if "score" not in frame.columns:
        frame["score"] = ""
    frame = frame[PRED_COLUMNS].copy()
    for row, name in enumerate(frame["Finding Label"], start=2):
        try:
            canonical(name)
        except KeyError:
            raise _bad(path, f"line {row}: unknown finding {name!r}") from None
    frame["Finding Label"] = frame["Finding Label"].map(canonical)
    for column in ("x", "y", "w", "h", "score"):
        values = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = values.isna() & (frame[column] != "" if column == "score" else True)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(path, f"line {row + 2}: bad {column} value {frame[column].iloc[row]!r}")
        frame[column] = values.astype(np.float64)
    return frame


def write_scores(scores: pd.DataFrame, out_dir: str | os.PathLike,
                 name: str = "localization.csv") -> Path:
    """Write ``out_dir/name`` (:data:`RESULT_COLUMNS`) atomically; return its path."""
    path = Path(out_dir) / name
    with atomic_path(path) as tmp:
        scores.to_csv(tmp, index=False, float_format="%.6g")
    return path


def evaluate_box_files(pred_path: str | os.PathLike, gt_path: str | os.PathLike,
                       out_dir: str | os.PathLike, options: DataOptions | None = None
                       ) -> pd.DataFrame:
    """``chestx eval-boxes``: score a PRED.csv against an NIH ``BBox_List_2017.csv`` or the
    boxes of a dataset root (VinDr-CXR, RSNA; :func:`chestx.data.releases.ground_truth_boxes`).

    Writes ``out_dir/localization.csv`` and returns the scores frame.
    """

    pred = read_pred_boxes(pred_path)
    gt = ground_truth_boxes(gt_path, options)[BBOX_COLUMNS]
    if gt.empty:
        raise ChestxError(f"{gt_path}: no ground-truth boxes")
    scores = localization_scores(pred, gt)
    write_scores(scores, out_dir)
    return scores


def write_boxes(boxes: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a PRED frame (``Image Index,Finding Label,x,y,w,h,score``) atomically."""
    rows = [pred_row(image, Box(x, y, w, h, score, finding), "%.6g", "%.6g")
            for image, finding, x, y, w, h, score in boxes[PRED_COLUMNS].itertuples(
                index=False, name=None)]
    return write_pred_boxes(path, rows, line_end="\n")


def summary_line(method: str, scores: pd.DataFrame) -> str:
    """One line comparing generators: mean Acc/AFP over findings at IoBB > 0.5 and IoU > 0.3,
    and the mean Acc at AFP <= 1 there."""
    def mean_of(column: str, measure: str, threshold: float) -> float:
        rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]
        return float(rows[column].mean())

    return (f"{method:>8} boxes: mean Acc IoBB>0.5 {mean_acc(scores, 'iobb', 0.5):.4f} "
            f"(AFP {mean_of('afp', 'iobb', 0.5):.4f}, Acc@AFP<=1 "
            f"{mean_of('acc_at_afp1', 'iobb', 0.5):.4f}), IoU>0.3 "
            f"{mean_acc(scores, 'iou', 0.3):.4f} (AFP {mean_of('afp', 'iou', 0.3):.4f}, "
            f"Acc@AFP<=1 {mean_of('acc_at_afp1', 'iou', 0.3):.4f})")


def mean_froc(pred: pd.DataFrame, gt: pd.DataFrame, measure: str,
              threshold: float) -> pd.DataFrame:
    """The accuracy-against-AFP curve averaged over findings: ``score, acc, afp`` at every
    distinct score of ``pred`` (each finding's Acc and AFP at that threshold, then the mean)."""
    points = froc_points(pred, gt, measure, threshold)
    # every finding with ground truth counts, one without boxes as Acc 0 and AFP 0
    findings = [f for f in FINDINGS if f in set(gt["Finding Label"])] or ["none"]
    grid = np.unique(points["score"].to_numpy())[::-1]
    acc = np.zeros(len(grid))
    afp = np.zeros(len(grid))
    for finding in findings:
        mine = points[points["finding"] == finding].sort_values("score")
        # a finding's values at score t are those of its lowest score >= t (none: 0, 0)
        at = np.searchsorted(mine["score"].to_numpy(), grid, side="left")
        valid = at < len(mine)
        acc[valid] += mine["acc"].to_numpy()[at[valid]]
        afp[valid] += mine["afp"].to_numpy()[at[valid]]
    return pd.DataFrame({"score": grid, "acc": acc / len(findings), "afp": afp / len(findings)})


def plot_froc(boxes: dict[str, pd.DataFrame], gt: pd.DataFrame, path: str | os.PathLike,
              title: str = "") -> Path:
    """``froc.png``: mean Acc against mean AFP per generator as the score threshold falls,
    at IoBB > 0.5 and IoU > 0.3 (two panels), with the AFP = 1 line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, (measure, threshold) in zip(axes, (("iobb", 0.5), ("iou", 0.3)), strict=True):
        for method, pred in boxes.items():
            curve = mean_froc(pred, gt, measure, threshold)
            ax.plot(np.r_[0.0, curve["afp"]], np.r_[0.0, curve["acc"]], marker=".",
                    label=method)
        ax.axvline(MAX_AFP, color="gray", linestyle="--", linewidth=1)
        ax.set_xlabel("average false positives per image (AFP)")
        ax.set_title(f"{'IoBB' if measure == 'iobb' else 'IoU'} > {threshold:g}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (mean over findings)")
    axes[0].legend(title="generator")
    fig.suptitle(f"Accuracy against false positives{': ' + title if title else ''}")
    fig.tight_layout()
    return write_figure(fig, path, dpi=100)
