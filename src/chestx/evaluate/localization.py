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
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.atomic import atomic_path
from chestx.data.nih import BBOX_COLUMNS, read_bbox_list
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, canonical
from chestx.localize.boxes import PRED_COLUMNS
from chestx.localize.geometry import ELEMENTWISE

#: Thresholds of the paper's Table 4 (and 19): a hit needs IoBB > T.
IOBB_THRESHOLDS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
#: Thresholds of the paper's Table 7: a hit needs IoU > T.
IOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
MEASURES: dict[str, tuple[float, ...]] = {"iobb": IOBB_THRESHOLDS, "iou": IOU_THRESHOLDS}

RESULT_COLUMNS = ["measure", "threshold", "finding", "acc", "afp", "n_images", "n_boxes"]


KEY = ["Image Index", "Finding Label"]


def best_overlaps(pred: pd.DataFrame, gt: pd.DataFrame,
                  measure: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best overlap of every ground-truth box and of every scored predicted box.

    A predicted box is scored when its image has ground truth of its finding; it is compared
    with those ground-truth boxes only. Returns ``(gt, pred)`` copies with a ``best`` column:
    the largest overlap (``measure``) with a box of the other side (0 when none).
    """
    gt = gt[KEY + ["x", "y", "w", "h"]].reset_index(drop=True).assign(gt_id=lambda f: f.index)
    pred = pred[KEY + ["x", "y", "w", "h"]].merge(gt[KEY].drop_duplicates(), on=KEY)
    pred = pred.reset_index(drop=True).assign(pred_id=lambda f: f.index)
    pairs = pred.merge(gt, on=KEY, suffixes=("_p", "_g"))
    overlap = ELEMENTWISE[measure](pairs[["x_p", "y_p", "w_p", "h_p"]].to_numpy(np.float64),
                                   pairs[["x_g", "y_g", "w_g", "h_g"]].to_numpy(np.float64))
    gt_best, pred_best = np.zeros(len(gt)), np.zeros(len(pred))
    np.maximum.at(gt_best, pairs["gt_id"].to_numpy(), overlap)
    np.maximum.at(pred_best, pairs["pred_id"].to_numpy(), overlap)
    return gt.assign(best=gt_best), pred.assign(best=pred_best)


def localization_scores(pred: pd.DataFrame, gt: pd.DataFrame,
                        measures: Sequence[str] = ("iobb", "iou")) -> pd.DataFrame:
    """Acc and AFP per measure, threshold and finding (findings with ground truth, NIH order).

    ``pred`` and ``gt`` are frames with :data:`BBOX_COLUMNS` (canonical finding names).
    Returns a frame with :data:`RESULT_COLUMNS`; ``acc`` and ``afp`` as defined in the module
    docstring: a ground-truth box is hit when its best overlap is > T, a scored predicted box
    is false when its best overlap is <= T.
    """
    findings = [f for f in FINDINGS if f in set(gt["Finding Label"])]
    rows = []
    for measure in measures:
        gt_best, pred_best = best_overlaps(pred, gt, measure)
        for finding in findings:
            g = gt_best.loc[gt_best["Finding Label"] == finding, "best"].to_numpy()
            p = pred_best.loc[pred_best["Finding Label"] == finding, "best"].to_numpy()
            n_images = gt_best.loc[gt_best["Finding Label"] == finding, "Image Index"].nunique()
            for threshold in MEASURES[measure]:
                rows.append((measure, threshold, finding, float((g > threshold).mean()),
                             float((p <= threshold).sum()) / n_images, n_images, len(g)))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def mean_acc(scores: pd.DataFrame, measure: str, threshold: float,
             findings: Sequence[str] | None = None) -> float:
    """Acc averaged over findings (all scored ones, or ``findings``) at one threshold."""
    rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]
    if findings is not None:
        rows = rows[rows["finding"].isin(list(findings))]
    return float(rows["acc"].mean()) if len(rows) else float("nan")


def format_table(scores: pd.DataFrame, measure: str = "iobb", digits: int = 4) -> str:
    """The paper's Table 4 (``iobb``) / Table 7 (``iou``) layout as plain text.

    One column per finding (NIH order) plus their mean; for each threshold a ``T(...) = t``
    line followed by an ``Acc.`` and an ``AFP`` row.
    """
    rows = scores[scores["measure"] == measure]
    findings = [f for f in FINDINGS if f in set(rows["finding"])]
    label = "T(IoBB)" if measure == "iobb" else "T(IoU)"
    width = max([len(f) for f in findings] + [digits + 2])
    lines = [f"{label:<16}" + "".join(f" {f:>{width}}" for f in [*findings, "Mean"])]
    for threshold in MEASURES[measure]:
        at = rows[np.isclose(rows["threshold"], threshold)].set_index("finding")
        lines.append(f"{label} = {threshold:g}")
        for name, column in (("Acc.", "acc"), ("AFP", "afp")):
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
                       out_dir: str | os.PathLike) -> pd.DataFrame:
    """``chestx eval-boxes``: score a PRED.csv against an NIH ``BBox_List_2017.csv``.

    Writes ``out_dir/localization.csv`` and returns the scores frame.
    """

    pred = read_pred_boxes(pred_path)
    gt = read_bbox_list(gt_path)
    if gt.empty:
        raise ChestxError(f"{gt_path}: no ground-truth boxes")
    scores = localization_scores(pred, gt)
    write_scores(scores, out_dir)
    return scores


def write_boxes(boxes: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a PRED frame (``Image Index,Finding Label,x,y,w,h,score``) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        boxes.to_csv(tmp, index=False, float_format="%.6g")
    return path


def summary_line(method: str, scores: pd.DataFrame) -> str:
    """One line comparing generators: mean Acc/AFP over findings at IoBB > 0.5 and IoU > 0.3."""
    def mean_afp(measure: str, threshold: float) -> float:
        rows = scores[(scores["measure"] == measure) & np.isclose(scores["threshold"], threshold)]
        return float(rows["afp"].mean())

    return (f"{method:>8} boxes: mean Acc IoBB>0.5 {mean_acc(scores, 'iobb', 0.5):.4f} "
            f"(AFP {mean_afp('iobb', 0.5):.4f}), IoU>0.3 {mean_acc(scores, 'iou', 0.3):.4f} "
            f"(AFP {mean_afp('iou', 0.3):.4f})")
