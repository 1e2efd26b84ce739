"""What ``chestx evaluate`` runs: a checkpoint on a split of a dataset folder ->
``predictions.csv``, ``auc.csv``, ``roc.png``, ``calibration.csv``, ``calibration.png`` (and
the localization outputs when the folder has ``BBox_List_2017.csv``, boxed by the protocol of
:mod:`chestx.metrics.protocol`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from chestx.atomic import atomic_open
from chestx.data.images import read_gray
from chestx.data.nih import BBOX_NAMES, find_images, read_bbox_list, read_data_entry
from chestx.errors import ChestxError
from chestx.inference.forward import localize_images
from chestx.inference.tables import PredictionTables, prediction_row
from chestx.localize.generators import DEFAULT_METHOD
from chestx.localize.sources import DEFAULT_SOURCE
from chestx.metrics.classification import auc_table, plot_roc
from chestx.metrics.label_audit import radiologist_auc, read_mapping, read_radiologist_labels
from chestx.metrics.localization import (
    LOCALIZATION_HEATMAP_SIZE,
    format_table,
    localization_scores,
    plot_froc,
    summary_line,
    write_boxes,
    write_scores,
)
from chestx.metrics.protocol import ground_truth_findings, protocol_boxes
from chestx.models import ChestXNet
from chestx.models.checkpoint import at_heatmap_size, finest_heatmap_size, model_from_state
from chestx.models.state import read_checkpoint
from chestx.progress import track
from chestx.synth.cohort import MANIFEST, PLANTED_FINDINGS
from chestx.training.distributed import default_workers, resolve_device
from chestx.training.loaders import image_dataset, split_ids
from chestx.training.validation import predict
from chestx.trust.features import capture
from chestx.trust.scoring import Scored, score_outputs, write_calibration
from chestx.trust.state import trust_of


@dataclass
class Evaluation:
    """An evaluated checkpoint: the model and dataset (for localization), the predictions,
    the AUC table and the files written.

    ``probabilities`` and ``labels`` have shape ``(N, C)`` for the ``N`` ``image_ids``."""

    model: ChestXNet
    dataset: Dataset | None
    image_ids: list[str]
    probabilities: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    radiologists: pd.DataFrame | None = None


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike,
                        out: str | os.PathLike, split: str = "test",
                        split_mode: str | None = None, seed: int | None = None,
                        batch_size: int = 16, device: str = "auto", workers: int | None = None,
                        use_cache: bool = True, progress: bool = True,
                        threshold: float | None = None,
                        radiologist_labels: str | os.PathLike | None = None,
                        heatmap: str = DEFAULT_SOURCE,
                        heatmap_size: int | None = LOCALIZATION_HEATMAP_SIZE) -> Evaluation:
    """Evaluate ``checkpoint`` on part ``split`` (train, val, test or all) of dataset ``data``.

    The split mode and seed default to those the run was trained with (so ``test`` is the
    same held-out part). Writes ``out/predictions.csv`` (the schema of
    :mod:`chestx.inference.tables`, ``Finding Labels`` at ``threshold``), ``out/auc.csv``
    (``finding,auc,n_pos,n_neg`` + ``mean``; a class with no positives has an empty auc),
    ``out/roc.png`` and, when ``data`` has ``BBox_List_2017.csv``, the localization outputs
    (:func:`add_localization`, from heatmap source ``heatmap`` at heatmap side
    ``heatmap_size``; ``None``: as trained). With ``radiologist_labels`` (a radiologist
    label file, see :mod:`chestx.metrics.label_audit`) also ``out/radiologist_auc.csv``:
    the AUC against those labels beside the AUC against the dataset's own, on the split's
    images that have them. ``workers`` ``None``:
    :func:`chestx.training.distributed.default_workers`.
    """
    state = read_checkpoint(checkpoint)
    model = model_from_state(state, checkpoint)
    trained = state.get("train_config") or {}
    mode = split_mode or trained.get("split", "official")
    seed = trained.get("seed", 0) if seed is None else seed
    if split == "all":
        ids = read_data_entry(data)["Image Index"].tolist()
    elif split in ("train", "val", "test"):
        ids = split_ids(data, mode, seed)[split]
    else:
        raise ChestxError(f"unknown split {split!r} (use test, val, train or all)")
    num_classes = len(model.classes)
    if num_classes not in (8, 14):
        raise ChestxError(f"{checkpoint}: evaluate needs a 14- or 8-class model")
    dataset = image_dataset(data, ids, num_classes, model.config.image_size, use_cache)
    target = resolve_device(device)
    workers = default_workers(target) if workers is None else workers
    trust = trust_of(state, checkpoint)
    with capture(model) as caught:  # pooled features for the out-of-distribution score
        _, labels, kept, logits = predict(model, dataset, batch_size, target, workers,
                                          progress=progress)
    scored = score_outputs(trust, logits, caught.arrays()[0], threshold)
    evaluation = _write_classification(model, data, Path(out), split, kept, scored, labels)
    evaluation.files |= write_calibration(
        Path(out), scored, labels, model.classes, trust,
        f"{model.config.backbone} on {Path(data).name} ({split}, n={len(kept)})")
    evaluation.dataset = dataset
    evaluation.recipe = _recipe_of(state)
    if radiologist_labels is not None:
        evaluation.radiologists = _against_radiologists(evaluation, data, radiologist_labels)
    add_localization(evaluation, data, progress=progress, heatmap=heatmap,
                     heatmap_size=heatmap_size)
    return evaluation


def _write_classification(model: ChestXNet, data: str | os.PathLike, out: Path, split: str,
                          kept: list[str], scored: Scored, labels: np.ndarray) -> Evaluation:
    """Write ``predictions.csv`` (calibrated probabilities, per-finding thresholds,
    out-of-distribution columns), ``auc.csv`` and ``roc.png`` of one evaluation."""
    probabilities = scored.after
    table = auc_table(labels, probabilities, model.classes)
    tables = PredictionTables(out, model.classes)
    paths = find_images(data)
    tables.rows = [prediction_row(name, str(paths.get(name, "")), model.classes, row,
                                  scored.thresholds, scored.cells(n))
                   for n, (name, row) in enumerate(zip(kept, probabilities, strict=True))]
    files = {"predictions": tables.write_predictions(), "auc": out / "auc.csv",
             "roc": out / "roc.png"}
    with atomic_open(files["auc"]) as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    plot_roc(labels, probabilities, model.classes, files["roc"],
             title=f"{model.config.backbone} on {Path(data).name} ({split}, n={len(kept)})")
    return Evaluation(model, None, kept, probabilities, labels, table, out, files)


def _recipe_of(state: dict) -> dict:
    """The training recipe a checkpoint records: its name, the resolved settings and the
    options given explicitly (empty for a checkpoint older than recipes)."""
    trained = state.get("train_config") or {}
    recipe = dict(state.get("recipe") or {})
    if not trained:
        return recipe
    keys = ("optimizer", "lr", "batch_size", "iter_size", "loss", "pooling", "lse_r",
            "augment", "schedule", "warmup_epochs", "image_size", "epochs")
    return recipe | {"name": recipe.get("name", trained.get("recipe", "before recipes")),
                     "settings": {k: trained.get(k) for k in keys}}


def _against_radiologists(evaluation: Evaluation, data: str | os.PathLike,
                          path: str | os.PathLike) -> pd.DataFrame:
    mapping = read_mapping()
    table = radiologist_auc(evaluation.image_ids, evaluation.probabilities,
                            evaluation.model.classes, read_data_entry(data),
                            read_radiologist_labels(path, list(mapping)), mapping)
    if table.empty or not table["n"].max():
        raise ChestxError(f"{path}: no image of the evaluated split has radiologist labels")
    evaluation.files["radiologist_auc"] = evaluation.out / "radiologist_auc.csv"
    with atomic_open(evaluation.files["radiologist_auc"]) as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    return table


def planted_summary(evaluation: Evaluation, data: str | os.PathLike) -> str | None:
    """On a synthetic dataset (``synth.json``): the mean AUC over the planted findings, the
    only learnable ones; ``None`` on other datasets."""
    if not (Path(data) / MANIFEST).is_file():
        return None
    table = evaluation.table
    planted = table[table["finding"].isin(PLANTED_FINDINGS)]["auc"]
    return (f"mean AUC over the {planted.notna().sum()} planted findings: "
            f"{planted.mean():.4f}")


def _read_ground_truth(root: Path, names: Sequence[str], paths: dict[str, Path],
                       problems: dict[str, str]) -> tuple[list[np.ndarray], list[str]]:
    images, kept = [], []
    for name in names:
        try:
            if name not in paths:
                raise ChestxError(f"{root / 'images' / name}: image not found")
            images.append(read_gray(paths[name]))
            kept.append(name)
        except ChestxError as exc:
            problems[name] = str(exc)
    return images, kept


def localize_ground_truth(model: torch.nn.Module, root: str | os.PathLike, gt: pd.DataFrame,
                          methods: Sequence[str] = (DEFAULT_METHOD, "paper"),
                          batch_size: int = 8, progress: bool = True,
                          heatmap: str = DEFAULT_SOURCE
                          ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Box every ground-truth image of ``gt`` (a ``read_bbox_list`` frame) under ``root``
    by the protocol of :mod:`chestx.metrics.protocol`, from heatmap source ``heatmap``.

    Returns ``({method: PRED frame (Image Index,Finding Label,x,y,w,h,score)}, problems)``:
    boxes in pixels of the stored images; ``problems`` maps each image that was missing or
    unreadable (and is skipped) to a one-line message.
    """
    paths = find_images(root)
    wanted = ground_truth_findings(gt)
    problems: dict[str, str] = {}
    names = list(wanted)
    chunks = [names[i:i + batch_size] for i in range(0, len(names), batch_size)]

    def heatmaps() -> Iterator[tuple[str, tuple[int, int], Sequence[str], np.ndarray]]:
        for chunk in track(chunks, "localizing", enabled=progress):
            images, kept = _read_ground_truth(Path(root), chunk, paths, problems)
            asked = sorted({f for name in kept for f in wanted[name]})
            for p in localize_images(model, images, findings=[], batch_size=batch_size,
                                     names=kept, heatmap=heatmap, heatmap_classes=asked):
                yield p.image, p.image_size, p.classes, p.heatmaps, p.probabilities

    return protocol_boxes(heatmaps(), wanted, methods), problems


def evaluate_model_localization(model, root: str | os.PathLike, out_dir: str | os.PathLike,
                                methods: Sequence[str] | None = None, batch_size: int = 8,
                                progress: bool = True, echo=print,
                                image_ids: Sequence[str] | None = None,
                                heatmap: str = DEFAULT_SOURCE) -> dict[str, pd.DataFrame]:
    """The localization half of ``chestx evaluate`` (needs ``root/BBox_List_2017.csv``).

    Boxes each ground-truth image with every generator in ``methods`` (default: chestx's
    default generator, then the paper's, then ``peak``), from one pass of heatmap source
    ``heatmap``. For the first method writes ``out_dir/boxes.csv`` and
    ``out_dir/localization.csv``; for each other method ``boxes_<method>.csv`` and
    ``localization_<method>.csv`` (each with its generator and heatmap source in its
    columns); ``out_dir/froc.png``, the accuracy-against-AFP curves of every method.
    Prints the Table 4 and Table 7 layouts (Acc., AFP, Acc. at AFP <= 1) of every method,
    titled with the generator that made the boxes, and one summary line per method. Only the
    ground-truth images among ``image_ids`` (when given) that can be read are used. Returns
    ``{method: scores}`` (empty when no ground-truth image is left).
    """
    methods = list(methods or dict.fromkeys([DEFAULT_METHOD, "paper", "peak"]))
    gt = read_bbox_list(root)
    if image_ids is not None:
        gt = gt[gt["Image Index"].isin(set(image_ids))]
    if gt.empty:
        echo("localization: no ground-truth boxes on the evaluated images; skipped")
        return {}
    boxes, problems = localize_ground_truth(model, root, gt, methods, batch_size, progress,
                                            heatmap)
    for problem in problems.values():
        echo(f"skipped: {problem}")
    gt = gt[~gt["Image Index"].isin(set(problems))]  # scored on the images that were read
    if gt.empty:
        raise ChestxError(f"{root}: none of the ground-truth images could be read")
    results = {}
    for i, method in enumerate(methods):
        suffix = "" if i == 0 else f"_{method}"
        write_boxes(boxes[method], Path(out_dir) / f"boxes{suffix}.csv")
        results[method] = localization_scores(boxes[method], gt, generator=method,
                                              heatmap=heatmap)
        write_scores(results[method], out_dir, f"localization{suffix}.csv")
    plot_froc({m: boxes[m] for m in methods}, gt, Path(out_dir) / "froc.png",
              title=f"{heatmap} heatmaps, {gt['Image Index'].nunique()} images")
    echo(f"localization: {gt['Image Index'].nunique()} images, {len(gt)} ground-truth boxes")
    for method in methods:
        for measure in ("iobb", "iou"):
            echo(format_table(results[method], measure, title=True) + "\n")
    for method, scores in results.items():
        echo(summary_line(method, scores))
    return results


def add_localization(evaluation, data: str | os.PathLike, progress: bool = True,
                     echo=print, heatmap: str = DEFAULT_SOURCE,
                     heatmap_size: int | None = None) -> None:
    """The localization step of ``chestx evaluate`` (the end of :func:`evaluate_checkpoint`).

    When ``data`` has ``BBox_List_2017.csv``, boxes the ground-truth images among the
    evaluated ones with ``evaluation.model`` (see :func:`evaluate_model_localization`), from
    heatmap source ``heatmap``, the model rebuilt at ``heatmap_size`` when given (same
    weights, see :func:`chestx.models.checkpoint.at_heatmap_size`; where that side needs
    pooling or cannot be reached, the finest that can), and adds
    ``boxes``/``localization`` (and ``*_paper``, ``*_peak``, ``froc``) to ``evaluation.files``.
    """
    root = Path(data)
    if not any((root / name).is_file() for name in BBOX_NAMES):
        return
    model = evaluation.model
    if heatmap_size is not None and hasattr(model, "transition"):
        model = at_heatmap_size(model, finest_heatmap_size(model, heatmap_size))
    results = evaluate_model_localization(model, root, evaluation.out,
                                          progress=progress, echo=echo,
                                          image_ids=evaluation.image_ids, heatmap=heatmap)
    for i, method in enumerate(results):
        suffix = "" if i == 0 else f"_{method}"
        evaluation.files[f"boxes{suffix}"] = evaluation.out / f"boxes{suffix}.csv"
        evaluation.files[f"localization{suffix}"] = evaluation.out / f"localization{suffix}.csv"
    if results:
        evaluation.files["froc"] = evaluation.out / "froc.png"
