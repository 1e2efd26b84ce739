"""``chestx localize``: image files -> per-class overlays, boxes.csv and probabilities.csv."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chestx.atomic import atomic_path
from chestx.errors import ChestxError
from chestx.inference.forward import Localization, localize_images
from chestx.localize.boxes import Box, boxes_to_frame
from chestx.localize.generators import DEFAULT_METHOD
from chestx.localize.overlay import OVERLAY_MIN_SIDE, draw_overlay
from chestx.progress import track


@dataclass
class LocalizeReport:
    """What :func:`localize_files` did: files written and images skipped (one line each)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    n_images: int = 0


def _gt_boxes(gt_path: str | os.PathLike | None) -> dict[str, list[Box]]:
    if gt_path is None:
        return {}
    from chestx.data.nih import read_bbox_list

    frame = read_bbox_list(gt_path)
    boxes: dict[str, list[Box]] = {}
    for row in frame.itertuples(index=False):
        boxes.setdefault(row[0], []).append(Box(row[2], row[3], row[4], row[5], 1.0, row[1]))
    return boxes


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _save_overlays(loc: Localization, gray, name: str, out: Path, gt: list[Box] | None,
                   findings: Sequence[str]) -> list[Path]:
    written = []
    probabilities = dict(zip(loc.classes, map(float, loc.probabilities), strict=True))
    for finding in findings:
        boxes = [b for b in loc.boxes if b.finding == finding]
        truth = None if gt is None else [g for g in gt if g.finding == finding]
        image = draw_overlay(gray, loc.heatmaps[loc.index(finding)], boxes, truth,
                             probabilities, min_side=OVERLAY_MIN_SIDE)
        path = out / f"{_safe(Path(name).stem)}_{finding}.png"
        with atomic_path(path) as tmp:
            image.save(tmp, format="PNG")
        written.append(path)
    return written


def localize_files(model, paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                   threshold: float = 0.5, method: str = DEFAULT_METHOD,
                   gt_path: str | os.PathLike | None = None, batch_size: int = 4,
                   progress: bool = True) -> LocalizeReport:
    """Localize image files (PNG, JPEG, DICOM) with ``model`` and write into ``out_dir``:

    - ``<stem>_<finding>.png`` for each finding with probability >= ``threshold``: the image
      with its boxes (and ground truth from ``gt_path``, an NIH box list, when given) beside
      the heatmap overlay;
    - ``boxes.csv``: ``Image Index,Finding Label,x,y,w,h,score`` in each image's pixels;
    - ``probabilities.csv``: ``Image Index`` and one column per class.

    Unreadable images are skipped and listed in the report; the rest are written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gt = _gt_boxes(gt_path)
    report = LocalizeReport()
    box_rows, prob_rows, classes = [], [], ()
    chunks = [list(paths[i:i + batch_size]) for i in range(0, len(paths), batch_size)]
    for chunk in track(chunks, "localizing", enabled=progress):
        grays, names = _read_chunk(chunk, report)
        if not grays:
            continue
        results = localize_images(model, grays, threshold=threshold, method=method,
                                  batch_size=batch_size)
        for name, gray, loc in zip(names, grays, results, strict=True):
            classes = loc.classes
            shown = [c for c, p in zip(loc.classes, loc.probabilities, strict=True)
                     if p >= threshold]
            truth = None if gt_path is None else gt.get(name, [])  # None: nothing to judge by
            report.written += _save_overlays(loc, gray, name, out, truth, shown)
            box_rows += [(name, box) for box in loc.boxes]
            prob_rows.append([name, *map(float, loc.probabilities)])
            report.n_images += 1
    if report.n_images:
        report.written.append(_write_csv(boxes_to_frame(box_rows), out / "boxes.csv"))
        probabilities = pd.DataFrame(prob_rows, columns=["Image Index", *classes])
        report.written.append(_write_csv(probabilities, out / "probabilities.csv"))
    return report


def _read_chunk(chunk: Sequence[str | os.PathLike], report: LocalizeReport):
    from chestx.data.images import read_gray

    grays, names = [], []
    for path in chunk:
        try:
            grays.append(read_gray(path))
            names.append(Path(path).name)
        except ChestxError as exc:
            report.skipped.append(str(exc))
    return grays, names


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    return path
