"""Datasets for training: the split's image ids, read from the preprocessing cache when one
covers them (else from the image files), with unreadable images skipped and reported."""

from __future__ import annotations

import os
import sys

import torch
from torch.utils.data import Dataset, default_collate

from chestx.data.cache import CachedDataset, find_cache
from chestx.data.datasets import NIHDataset, ReleaseDataset
from chestx.data.releases import DataOptions, detect_release, open_dataset
from chestx.data.splits import dataset_split
from chestx.errors import ChestxError


def split_ids(root: str | os.PathLike, mode: str = "official", seed: int = 0,
              options: DataOptions | None = None) -> dict[str, list[str]]:
    """``{"train", "val", "test"}`` -> Image Index lists (``root/split/*.txt`` when written by
    ``chestx split``, else the release's split, :func:`chestx.data.splits.release_split`)."""
    return dataset_split(root, mode, seed, options)


class SkipUnreadable(Dataset):
    """Wrap a dataset so that an unreadable image yields ``None`` (reported on stderr) instead
    of stopping the job; :func:`collate_readable` drops those items from the batch."""

    def __init__(self, dataset: NIHDataset | ReleaseDataset) -> None:
        self.dataset = dataset
        self.image_ids = dataset.image_ids
        self.labels = dataset.labels

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        try:
            return self.dataset[index]
        except ChestxError as exc:
            print(f"warning: skipped {exc}", file=sys.stderr)
            return None


def collate_readable(batch: list) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Default collation of the items that are not ``None`` (``None`` if none are left)."""
    batch = [item for item in batch if item is not None]
    return default_collate(batch) if batch else None


#: Decoded images kept in memory by :class:`InMemory` at most (bytes of float32 pixels).
IN_MEMORY_BYTES = 2 * 1024**3


class InMemory(Dataset):
    """Keep each item of ``dataset`` once read: from the second epoch on, an in-process
    loader (``--workers 0``) decodes and resizes nothing. Items that were unreadable stay
    ``None``; the images are kept exactly (float32), so results do not change."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.image_ids = dataset.image_ids
        self.labels = dataset.labels
        self._items: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        if index not in self._items:
            self._items[index] = self.dataset[index]
        return self._items[index]


def image_dataset(root: str | os.PathLike, ids: list[str], classes: int, image_size: int,
                  use_cache: bool = True, cache_out: str | os.PathLike | None = None,
                  in_memory: bool = False, options: DataOptions | None = None) -> Dataset:
    """Dataset of ``(image (1, S, S), labels (C,))`` for ``ids``: from the cache when one at
    ``image_size`` or larger holds them all, else from the files (bad ones skipped).
    ``in_memory``: also keep the decoded images (:class:`InMemory`) when they take at most
    :data:`IN_MEMORY_BYTES`. ``options``: how a public release at ``root`` is read."""
    if not ids:
        raise ChestxError(f"{root}: the split has no images for this part")
    if (options and options.dataset or detect_release(root)) == "nih":
        nih = NIHDataset(root, classes=classes, image_size=image_size, ids=ids)
    else:
        nih = ReleaseDataset(open_dataset(root, options), ids, classes, image_size)
    cache = find_cache(root, image_size, cache_out, nih.image_ids) if use_cache else None
    dataset = (CachedDataset(cache, nih.image_ids, nih.labels, image_size) if cache is not None
               else SkipUnreadable(nih))
    if in_memory and len(nih) * image_size * image_size * 4 <= IN_MEMORY_BYTES:
        return InMemory(dataset)
    return dataset
