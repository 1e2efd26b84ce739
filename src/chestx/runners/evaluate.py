"""What ``chestx evaluate`` runs: a checkpoint on a split of a dataset folder ->
``predictions.csv``, ``auc.csv``, ``roc.png``, ``calibration.csv``, ``calibration.png`` (and
the localization outputs when the folder has ``BBox_List_2017.csv``, boxed by the protocol of
:mod:`chestx.metrics.protocol`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from chestx.atomic import atomic_open
from chestx.data.bbox_csv import BBOX_NAMES, read_bbox_list
from chestx.data.nih import find_images, read_data_entry
from chestx.data.releases import DataOptions, Release, detect_release, open_dataset
from chestx.data.releases.labelmap import release_label_space
from chestx.errors import ChestxError
from chestx.inference.boxed_maps import fit_box_extent, ground_truth_maps, save_ground_truth_maps
from chestx.inference.forward import registration_of
from chestx.inference.tables import PredictionTables, prediction_row
from chestx.localize.extent import EXTENT_KEY, BoxExtent, level_overlaps
from chestx.localize.generators import DEFAULT_METHOD
from chestx.localize.heatmap_files import HEATMAP_DIR
from chestx.localize.sources import DEFAULT_SOURCE
from chestx.metrics.boxsets import BoxSets, calibration_and_scoring, image_patients
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
from chestx.metrics.pointing import extent_summary, extent_table, pointing_hits, pointing_scores
from chestx.metrics.protocol import ground_truth_findings, protocol_boxes
from chestx.models import ChestXNet
from chestx.models.checkpoint import (
    at_heatmap_size,
    finest_heatmap_size,
    model_from_state,
    update_checkpoint,
)
from chestx.models.state import read_checkpoint
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
    left_out: dict[str, str] = field(default_factory=dict)
    checkpoint: Path | None = None
    split: str = "test"
    validation_ids: list[str] = field(default_factory=list)


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike,
                        out: str | os.PathLike, split: str = "test",
                        split_mode: str | None = None, seed: int | None = None,
                        batch_size: int = 16, device: str = "auto", workers: int | None = None,
                        use_cache: bool = True, progress: bool = True,
                        threshold: float | None = None,
                        radiologist_labels: str | os.PathLike | None = None,
                        heatmap: str = DEFAULT_SOURCE,
                        heatmap_size: int | None = LOCALIZATION_HEATMAP_SIZE,
                        options: DataOptions | None = None,
                        calibrate_boxes: str | os.PathLike | None = None,
                        save_heatmaps: bool = False) -> Evaluation:
    """Evaluate ``checkpoint`` on part ``split`` (train, val, test or all) of dataset ``data``.

    The split mode and seed default to those the run was trained with (so ``test`` is the
    same held-out part). Writes ``out/predictions.csv`` (the schema of
    :mod:`chestx.inference.tables`: calibrated probabilities, ``Finding Labels`` at
    ``threshold``, else at each finding's operating point, out-of-distribution columns),
    ``out/auc.csv`` (``finding,auc,n_pos,n_neg`` + ``mean``; a class with no positives has an
    empty auc), ``out/roc.png``, ``out/calibration.csv`` and ``out/calibration.png``
    (:mod:`chestx.trust.scoring`) and, when ``data`` has ``BBox_List_2017.csv``, the
    localization outputs (:func:`add_localization`, from heatmap source ``heatmap`` at
    heatmap side ``heatmap_size``; ``None``: as trained). With ``radiologist_labels`` (a radiologist
    label file, see :mod:`chestx.metrics.label_audit`) also ``out/radiologist_auc.csv``:
    the AUC against those labels beside the AUC against the dataset's own, on the split's
    images that have them. ``calibrate_boxes`` (a box list) and ``save_heatmaps``: see
    :func:`add_localization`. ``workers`` ``None``:
    :func:`chestx.training.distributed.default_workers`.

    ``data`` may be any release :func:`chestx.data.releases.open_dataset` reads (``options``
    say how): the AUC table then has the findings both the training data and ``data``
    label; the others are in ``Evaluation.left_out`` with the reason.
    """
    state = read_checkpoint(checkpoint)
    model = model_from_state(state, checkpoint)
    trained = state.get("train_config") or {}
    mode = split_mode or trained.get("split", "official")
    seed = trained.get("seed", 0) if seed is None else seed
    release = open_dataset(data, options)
    for problem in release.problems.shown():
        print(f"warning: {problem}")
    if split == "all":
        ids = release.image_ids
    elif split in ("train", "val", "test"):
        ids = split_ids(data, mode, seed, options)[split]
    else:
        raise ChestxError(f"unknown split {split!r} (use test, val, train or all)")
    num_classes = len(model.classes)
    if num_classes not in (8, 14):
        raise ChestxError(f"{checkpoint}: evaluate needs a 14- or 8-class model")
    dataset = image_dataset(data, ids, num_classes, model.config.image_size, use_cache,
                            options=options)
    target = resolve_device(device)
    workers = default_workers(target) if workers is None else workers
    left_out = _left_out(model.classes, _trained_release(trained), release)
    trust = trust_of(state, checkpoint)
    with capture(model) as caught:  # pooled features for the out-of-distribution score
        _, labels, kept, logits = predict(model, dataset, batch_size, target, workers,
                                          progress=progress)
    scored = score_outputs(trust, logits, caught.arrays()[0], threshold)
    evaluation = _write_classification(model, release, Path(out), split, kept, scored, labels,
                                       left_out)
    evaluation.files |= write_calibration(
        Path(out), scored, labels, model.classes, trust,
        f"{model.config.backbone} on {Path(data).name} ({split}, n={len(kept)})", left_out)
    evaluation.dataset = dataset
    evaluation.recipe = _recipe_of(state)
    evaluation.checkpoint, evaluation.split = Path(checkpoint), split
    if split != "val" and mode is not None:
        evaluation.validation_ids = list(split_ids(data, mode, seed, options).get("val", []))
    if radiologist_labels is not None:
        evaluation.radiologists = _against_radiologists(evaluation, data, radiologist_labels)
    add_localization(evaluation, data, progress=progress, heatmap=heatmap,
                     heatmap_size=heatmap_size, release=release,
                     calibrate_boxes=calibrate_boxes, save_heatmaps=save_heatmaps)
    return evaluation


def _trained_release(trained: dict) -> str | None:
    """The release a run was trained on, as its checkpoint records it (``None``: unknown)."""
    if trained.get("dataset"):
        return trained["dataset"]
    try:
        return detect_release(trained["data"]) if trained.get("data") else None
    except ChestxError:  # the training folder is gone: its label space is unknown
        return None


def _left_out(classes: tuple[str, ...], trained: str | None, release: Release
              ) -> dict[str, str]:
    """Findings of the model not scored on ``release`` -> why (not labelled by one side)."""
    mine = release_label_space(trained) if trained else classes
    left = {}
    for name in classes:
        if name not in mine:
            left[name] = f"not labelled in the training data ({trained})"
        elif name not in release.label_space:
            left[name] = f"not labelled in {release.name}"
    return left


def _write_classification(model: ChestXNet, release: Release, out: Path, split: str,
                          kept: list[str], scored: Scored, labels: np.ndarray,
                          left_out: dict[str, str] | None = None) -> Evaluation:
    """Write ``predictions.csv`` (calibrated probabilities, per-finding thresholds,
    out-of-distribution columns), ``auc.csv`` and ``roc.png`` of one evaluation; the AUC
    rows are the findings not in ``left_out``."""
    probabilities = scored.after
    left_out = left_out or {}
    kept_findings = [i for i, name in enumerate(model.classes) if name not in left_out]
    shared = tuple(model.classes[i] for i in kept_findings)
    table = auc_table(labels[:, kept_findings], probabilities[:, kept_findings], shared)
    tables = PredictionTables(out, model.classes)
    paths = release.image_paths()
    tables.rows = [prediction_row(name, str(paths.get(name, "")), model.classes, row,
                                  scored.thresholds, scored.cells(n))
                   for n, (name, row) in enumerate(zip(kept, probabilities, strict=True))]
    files = {"predictions": tables.write_predictions(), "auc": out / "auc.csv",
             "roc": out / "roc.png"}
    with atomic_open(files["auc"]) as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    plot_roc(labels[:, kept_findings], probabilities[:, kept_findings], shared, files["roc"],
             title=f"{model.config.backbone} on {release.root.name} ({split}, n={len(kept)})")
    return Evaluation(model, None, kept, probabilities, labels, table, out, files,
                      left_out=left_out)


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


def localize_ground_truth(model: torch.nn.Module, root: str | os.PathLike, gt: pd.DataFrame,
                          methods: Sequence[str] = (DEFAULT_METHOD, "paper"),
                          batch_size: int = 8, progress: bool = True,
                          heatmap: str = DEFAULT_SOURCE, paths: dict[str, Path] | None = None,
                          extent: BoxExtent | None = None
                          ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Box every ground-truth image of ``gt`` (a ``read_bbox_list`` frame) under ``root``
    by the protocol of :mod:`chestx.metrics.protocol`, from heatmap source ``heatmap``
    (``region`` boxes at the levels of ``extent``).

    Returns ``({method: PRED frame (Image Index,Finding Label,x,y,w,h,score)}, problems)``:
    boxes in pixels of the stored images; ``problems`` maps each image that was missing or
    unreadable (and is skipped) to a one-line message. ``paths`` (Image Index -> file) of a
    release's images; default: the images found under ``root`` in NIH's layout.
    """
    maps, problems = ground_truth_maps(model, paths if paths is not None else find_images(root),
                                       gt, batch_size, progress, heatmap)
    return _boxes_of(model, maps, gt, methods, extent), problems


def _boxes_of(model, maps, gt, methods, extent: BoxExtent | None) -> dict[str, pd.DataFrame]:
    params = {m: (extent or BoxExtent()).generator_params(m) for m in methods}
    return protocol_boxes(maps, ground_truth_findings(gt), methods, registration_of(model),
                          params)


def evaluate_model_localization(model, root: str | os.PathLike, out_dir: str | os.PathLike,
                                methods: Sequence[str] | None = None, batch_size: int = 8,
                                progress: bool = True, echo=print,
                                image_ids: Sequence[str] | None = None,
                                heatmap: str = DEFAULT_SOURCE, extent: BoxExtent | None = None,
                                scope: str = "", save_heatmaps: bool = False,
                                release: Release | None = None,
                                gt: pd.DataFrame | None = None,
                                paths: dict[str, Path] | None = None
                                ) -> dict[str, pd.DataFrame]:
    """The localization half of ``chestx evaluate`` (needs ``root/BBox_List_2017.csv``).

    Boxes each ground-truth image with every generator in ``methods`` (default: chestx's
    default generator, then the paper's, then ``peak``; ``region`` at the levels of
    ``extent``), from one pass of heatmap source ``heatmap``. For the first method writes
    ``out_dir/boxes.csv`` and ``out_dir/localization.csv`` (with the pointing game's rows,
    :mod:`chestx.metrics.pointing`); for each other method ``boxes_<method>.csv`` and
    ``localization_<method>.csv``; ``box_extent.csv``, the accuracy across the level;
    ``froc.png``, the accuracy-against-AFP curves of every method; with ``save_heatmaps``
    ``heatmaps/<stem>__<Finding>.png``. Prints ``scope`` (which boxes are scored), the
    Table 4 and Table 7 layouts of every method and one summary line per method. Only the
    ground-truth images among ``image_ids`` (when given) that can be read are used. Returns
    ``{method: scores}`` (empty when no ground-truth image is left). The boxes are ``gt``
    when given (already read by the caller), else ``release.boxes`` (VinDr-CXR, RSNA), else
    ``root/BBox_List_2017.csv``; the images ``paths`` (Image Index -> file) when given.
    """
    methods = list(methods or dict.fromkeys([DEFAULT_METHOD, "paper", "peak"]))
    extent = extent or BoxExtent()
    if gt is None:
        gt = release.boxes if release is not None else read_bbox_list(root)
    gt = gt[list(gt.columns[:6])]  # one box per row, whatever reader drew it
    if image_ids is not None:
        gt = gt[gt["Image Index"].isin(set(image_ids))]
    if gt.empty:
        echo("localization: no ground-truth boxes on the evaluated images; skipped")
        return {}
    if paths is None:
        paths = release.image_paths() if release is not None else find_images(root)
    maps, problems = ground_truth_maps(model, paths, gt, batch_size, progress, heatmap)
    for problem in problems.values():
        echo(f"skipped: {problem}")
    gt = gt[~gt["Image Index"].isin(set(problems))]  # scored on the images that were read
    if gt.empty:
        raise ChestxError(f"{root}: none of the ground-truth images could be read")
    out_dir = Path(out_dir)
    boxes = _boxes_of(model, maps, gt, methods, extent)
    registration = registration_of(model)
    pointing = pointing_scores(pointing_hits(maps, gt, registration), gt, methods[0], heatmap)
    results = {}
    for i, method in enumerate(methods):
        suffix = "" if i == 0 else f"_{method}"
        write_boxes(boxes[method], out_dir / f"boxes{suffix}.csv")
        results[method] = localization_scores(boxes[method], gt, generator=method,
                                              heatmap=heatmap)
        rows = pd.concat([results[method], pointing]) if i == 0 else results[method]
        write_scores(rows, out_dir, f"localization{suffix}.csv")
    sweep = extent_table(level_overlaps(maps, gt, registration=registration), extent)
    write_scores(sweep, out_dir, "box_extent.csv")
    if save_heatmaps:
        save_ground_truth_maps(maps, gt, out_dir / HEATMAP_DIR, registration)
    plot_froc({m: boxes[m] for m in methods}, gt, out_dir / "froc.png",
              title=f"{heatmap} heatmaps, {gt['Image Index'].nunique()} images")
    echo(f"localization: {gt['Image Index'].nunique()} images, {len(gt)} ground-truth boxes"
         + (f"; {scope}" if scope else ""))
    for method in methods:
        for measure in ("iobb", "iou"):
            echo(format_table(results[method], measure, title=True) + "\n")
    echo(extent_summary(sweep))
    echo("pointing game (map maximum inside a box): " + ", ".join(
        f"{f} {a:.2f}" for f, a in zip(pointing["finding"], pointing["acc"], strict=True))
        + f"; mean {pointing['acc'].mean():.4f}")
    for method, scores in results.items():
        echo(summary_line(method, scores))
    return results


def add_localization(evaluation, data: str | os.PathLike, progress: bool = True,
                     echo=print, heatmap: str = DEFAULT_SOURCE,
                     heatmap_size: int | None = None, release: Release | None = None,
                     calibrate_boxes: str | os.PathLike | None = None,
                     save_heatmaps: bool = False) -> None:
    """The localization step of ``chestx evaluate`` (the end of :func:`evaluate_checkpoint`).

    When ``data`` has ground-truth boxes (``BBox_List_2017.csv``, or a VinDr-CXR or RSNA
    root: ``release.boxes``), fits the box extent on held-out boxes and scores the others
    (:func:`chestx.metrics.boxsets.calibration_and_scoring`: the boxes of
    ``calibrate_boxes``, else of the validation images, else a patient-wise half of the
    evaluated ones) with ``evaluation.model`` (see :func:`evaluate_model_localization`), from
    heatmap source ``heatmap``, the model rebuilt at ``heatmap_size`` when given (same
    weights, see :func:`chestx.models.checkpoint.at_heatmap_size`; where that side needs
    pooling or cannot be reached, the finest that can). The fitted extent goes into the
    checkpoint (``evaluation.checkpoint``, when set) under
    :data:`chestx.localize.extent.EXTENT_KEY`. Adds ``boxes``/``localization`` (and
    ``*_paper``, ``*_peak``, ``box_extent``, ``froc``) to ``evaluation.files``.
    """
    root = Path(data)
    if release is None and not any((root / name).is_file() for name in BBOX_NAMES):
        try:
            release = open_dataset(root)
        except ChestxError:  # neither a box list nor a release: nothing to localize
            return
    if release is not None and (release.boxes is None or release.boxes.empty):
        return
    model = evaluation.model
    if heatmap_size is not None and hasattr(model, "transition"):
        model = at_heatmap_size(model, finest_heatmap_size(model, heatmap_size))
    checkpoint = getattr(evaluation, "checkpoint", None)
    gt = release.boxes if release is not None else read_bbox_list(root)
    gt = gt[list(gt.columns[:6])]
    images = release.image_paths() if release is not None else find_images(root)
    sets = _box_sets(gt, root, evaluation, calibrate_boxes)
    extent, scope = BoxExtent(), "no boxes left to fit the box extent: default level"
    if sets is not None:
        paths = images | (_file_images(calibrate_boxes) if calibrate_boxes else {})
        extent, problems = fit_box_extent(model, paths, sets.calibrate, sets.calibrated_on,
                                          progress=progress, heatmap=heatmap)
        for problem in problems.values():
            echo(f"skipped (calibration): {problem}")
        scope = sets.describe()
        echo("box extent (region level per finding): " + ", ".join(
            f"{f} {v:g}" for f, v in extent.levels.items()) + f"; fitted on {sets.calibrated_on}")
        if checkpoint is not None:
            update_checkpoint(checkpoint, **{EXTENT_KEY: extent.to_dict()})
    scored = sets.score["Image Index"].unique().tolist() if sets else evaluation.image_ids
    results = evaluate_model_localization(model, release.root if release else root,
                                          evaluation.out, progress=progress, echo=echo,
                                          image_ids=scored, heatmap=heatmap, extent=extent,
                                          scope=scope, save_heatmaps=save_heatmaps,
                                          release=release, gt=gt, paths=images)
    for i, method in enumerate(results):
        suffix = "" if i == 0 else f"_{method}"
        evaluation.files[f"boxes{suffix}"] = evaluation.out / f"boxes{suffix}.csv"
        evaluation.files[f"localization{suffix}"] = evaluation.out / f"localization{suffix}.csv"
    if results:
        evaluation.files["box_extent"] = evaluation.out / "box_extent.csv"
        evaluation.files["froc"] = evaluation.out / "froc.png"


def _file_images(path: str | os.PathLike) -> dict[str, Path]:
    """Images beside a calibration box file (``FOLDER/images/`` next to it), if any."""
    folder = Path(path).parent
    return find_images(folder) if (folder / "images").is_dir() else {}


def _box_sets(gt: pd.DataFrame, root: Path, evaluation, calibrate_boxes) -> BoxSets | None:
    """Calibration and scoring boxes of an evaluation among ``gt`` (``None``: too few boxes
    to fit on some and score others: all are scored, at the default level)."""
    scored = gt[gt["Image Index"].isin(set(evaluation.image_ids))]
    given = read_bbox_list(calibrate_boxes) if calibrate_boxes else None
    validation_ids = getattr(evaluation, "validation_ids", None) or []
    validation = gt[gt["Image Index"].isin(set(validation_ids))]
    entry = _data_entry_or_none(root)
    patients = image_patients(entry) if entry is not None else {}
    sets = calibration_and_scoring(scored, validation, given,
                                   str(calibrate_boxes or ""), patients,
                                   getattr(evaluation, "split", "test"))
    if sets.calibrate.empty or sets.score.empty:
        return None
    return sets


def _data_entry_or_none(root: Path) -> pd.DataFrame | None:
    try:
        return read_data_entry(root)
    except ChestxError:
        return None
