"""The model over a torch Dataset: probabilities for every readable image, and the
validation row the trainer logs each epoch (loss, mean AUC, AUC per class)."""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from chestx.errors import ChestxError
from chestx.metrics.classification import per_class_auc
from chestx.models import ChestXNet, get_loss
from chestx.models.forward import forward_batches
from chestx.progress import new_progress
from chestx.training.loaders import collate_readable


def predict(model: ChestXNet, dataset: Dataset, batch_size: int = 16,
            device: torch.device | str = "cpu", workers: int = 0, amp: bool = False,
            progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Run ``model`` over ``dataset`` in order (through :func:`chestx.models.forward_batches`).

    Returns ``(probabilities (N, C), labels (N, C), image_ids (N,), logits (N, C))`` for the
    N readable images (unreadable ones are skipped, as the dataset reports them).
    """
    model = model.to(torch.device(device)).eval()
    ids = list(getattr(dataset, "image_ids", range(len(dataset))))
    kept: list[int] = []
    labels: list[torch.Tensor] = []
    loader = DataLoader(_Indexed(dataset), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=collate_readable)

    def batches():  # labels and indices are kept aside as the batches go by
        with new_progress() if progress else nullcontext() as bar:
            task = bar.add_task("predict", total=len(loader)) if progress else None
            for batch in loader:
                if batch is not None:
                    images, targets, index = batch
                    labels.append(targets)
                    kept.extend(index.tolist())
                    yield images
                if bar is not None:
                    bar.advance(task)

    outputs = list(forward_batches(model, batches(), amp=amp))
    if not kept:
        raise ChestxError("no readable images to predict")
    return (np.concatenate([out.probabilities for out in outputs]), torch.cat(labels).numpy(),
            [str(ids[i]) for i in kept], torch.cat([out.logits for out in outputs]).numpy())


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
