"""What ``chestx evaluate`` runs: a checkpoint on a split of a dataset folder ->
``predictions.csv``, ``auc.csv``, ``roc.png`` (and the localization outputs when the folder
has ``BBox_List_2017.csv``)."""

from __future__ import annotations

import math
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from chestx.atomic import atomic_open
from chestx.data.entries import read_data_entry
from chestx.errors import ChestxError
from chestx.evaluate.classification import auc_table, per_class_auc, plot_roc
from chestx.evaluate.label_audit import radiologist_auc, read_mapping, read_radiologist_labels
from chestx.models import ChestXNet, get_loss
from chestx.models.checkpoint import model_from_state, read_checkpoint
from chestx.progress import new_progress


@torch.no_grad()
def predict(model: ChestXNet, dataset: Dataset, batch_size: int = 16,
            device: torch.device | str = "cpu", workers: int = 0, amp: bool = False,
            progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Run ``model`` over ``dataset`` in order.

    Returns ``(probabilities (N, C), labels (N, C), image_ids (N,), logits (N, C))`` for the
    N readable images (unreadable ones are skipped, as the dataset reports them).
    """
    from chestx.training.data import collate_readable

    device = torch.device(device)
    model = model.to(device).eval()
    ids = list(getattr(dataset, "image_ids", range(len(dataset))))
    kept: list[int] = []
    logits, labels = [], []
    indexed = _Indexed(dataset)
    loader = DataLoader(indexed, batch_size=batch_size, shuffle=False, num_workers=workers,
                        collate_fn=collate_readable)
    autocast = torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda"
                              else torch.bfloat16) if amp else nullcontext()
    with new_progress() if progress else nullcontext() as bar:
        task = bar.add_task("predict", total=len(loader)) if progress else None
        for batch in loader:
            if batch is not None:
                images, targets, index = batch
                with autocast:
                    out = model(images.to(device, non_blocking=True))
                logits.append(out.float().cpu())
                labels.append(targets)
                kept += index.tolist()
            if bar is not None:
                bar.advance(task)
    if not kept:
        raise ChestxError("no readable images to predict")
    logit_array = torch.cat(logits).numpy()
    return (1 / (1 + np.exp(-logit_array)), torch.cat(labels).numpy(),
            [str(ids[i]) for i in kept], logit_array)


class _Indexed(Dataset):
    """Adds each item's index, so that skipped (unreadable) items can be told apart."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        item = self.dataset[index]
        return None if item is None else (*item, index)


def validate(model: ChestXNet, dataset: Dataset, loss: str, batch_size: int,
             device: torch.device, workers: int = 0, amp: bool = False) -> dict:
    """``val_loss``, ``val_auc`` (mean of defined per-class AUCs) and ``auc_<class>``."""
    probabilities, labels, _, logits = predict(model, dataset, batch_size, device, workers, amp)
    aucs = per_class_auc(labels, probabilities)
    row = {"val_loss": float(get_loss(loss)(torch.from_numpy(logits),
                                            torch.from_numpy(labels))),
           "val_auc": float(np.nanmean(aucs)) if np.isfinite(aucs).any() else math.nan}
    row |= {f"auc_{name}": float(a) for name, a in zip(model.classes, aucs, strict=True)}
    return row


@dataclass
class Evaluation:
    """An evaluated checkpoint: the model and dataset (for localization), the predictions,
    the AUC table and the files written."""

    model: ChestXNet
    dataset: Dataset
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
                        radiologist_labels: str | os.PathLike | None = None) -> Evaluation:
    """Evaluate ``checkpoint`` on part ``split`` (train, val, test or all) of dataset ``data``.

    The split mode and seed default to those the run was trained with (so ``test`` is the
    same held-out part). Writes ``out/predictions.csv`` (``Image Index`` + one probability
    column per class), ``out/auc.csv`` (``finding,auc,n_pos,n_neg`` + ``mean``; a class with
    no positives has an empty auc) and ``out/roc.png``. With ``radiologist_labels`` (a
    radiologist label file, see :mod:`chestx.evaluate.label_audit`) also
    ``out/radiologist_auc.csv``: the AUC against those labels beside the AUC against the
    dataset's own, on the split's images that have them.
    """
    from chestx.training.data import image_dataset, split_ids
    from chestx.training.distributed import default_workers, resolve_device

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
    dataset = image_dataset(data, ids, num_classes, model.config["image_size"], use_cache)
    target = resolve_device(device)
    workers = default_workers(target) if workers is None else workers
    probabilities, labels, kept, _ = predict(model, dataset, batch_size, target, workers,
                                             progress=progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = auc_table(labels, probabilities, model.classes)
    files = {"predictions": out / "predictions.csv", "auc": out / "auc.csv",
             "roc": out / "roc.png"}
    predictions = pd.DataFrame(probabilities, columns=model.classes)
    predictions.insert(0, "Image Index", kept)
    with atomic_open(files["predictions"]) as handle:
        predictions.to_csv(handle, index=False, float_format="%.6f")
    with atomic_open(files["auc"]) as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    plot_roc(labels, probabilities, model.classes, files["roc"],
             title=f"{model.config['backbone']} on {Path(data).name} ({split}, n={len(kept)})")
    evaluation = Evaluation(model, dataset, kept, probabilities, labels, table, out, files,
                            recipe=_recipe_of(state))
    if radiologist_labels is not None:
        evaluation.radiologists = _against_radiologists(evaluation, data, radiologist_labels)
    # ---- localization (owner: localization engineer) -------------------------------------
    # When ``data`` holds BBox_List_2017.csv, localize here with ``evaluation.model`` and
    # ``evaluation.dataset`` and add the written files to ``evaluation.files``.
    from chestx.evaluate.localization import add_localization

    add_localization(evaluation, data, progress=progress)
    # ---- end localization --------------------------------------------------------------------
    return evaluation


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
