"""The NIH folder as torch Datasets: :class:`NIHDataset` reads images and label vectors.

Apart from :mod:`chestx.data.nih` (the CSV readers) so that commands that only read the CSV
(``chestx stats``, ``chestx split``) never import torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from chestx.data.images import read_gray
from chestx.data.nih import (
    TRAIN_VAL_LIST,
    data_entry_path,
    find_images,
    read_data_entry,
    read_split_list,
)
from chestx.data.releases import Release
from chestx.data.splits import load_split
from chestx.data.tensors import to_tensor
from chestx.errors import ChestxError
from chestx.findings import classes_for, labels_to_vector


class NIHDataset(Dataset):
    """A ChestX-ray14 folder as a torch Dataset of ``(image, labels)``.

    Parameters
    ----------
    root : dataset folder (see :mod:`chestx.data.nih` for its files).
    split : ``None`` (every row of the CSV), ``"train"``, ``"val"``, ``"test"`` (through
        :func:`chestx.data.splits.load_split`, official mode), or ``"train_val"`` (the
        official ``train_val_list.txt``).
    classes : 14 (ChestX-ray14, :data:`chestx.findings.FINDINGS`) or 8 (the paper's
        ChestX-ray8 subset); findings outside the set are ignored.
    image_size : resize images to ``(image_size, image_size)``; ``None`` keeps them.
    transform : optional callable applied to the image tensor ``(1, H, W)``.
    ids : explicit list of Image Index values (overrides ``split``), in that order.

    Notes
    -----
    ``ds[i]`` is ``(image float32 (1, H, W) in [0, 1], labels float32 (C,))``; ``No Finding``
    is all zeros. Attributes: ``root``, ``image_ids`` (list of N names), ``classes`` (tuple of
    C names), ``labels`` (float32 ``(N, C)``), ``entries`` (the N CSV rows), ``patient_ids``
    (int64 ``(N,)``). Images are located when the dataset is built; a missing or corrupt one
    raises :class:`ChestxError` naming it when it is read.
    """

    def __init__(self, root: str | os.PathLike, split: str | None = None, classes: int = 14,
                 image_size: int | None = None, transform: Callable | None = None,
                 ids: Sequence[str] | None = None) -> None:
        self.root = Path(root)
        self.classes: tuple[str, ...] = classes_for(classes)
        self.image_size = image_size
        self.transform = transform
        entries = read_data_entry(data_entry_path(self.root)).set_index("Image Index", drop=False)
        if ids is None and split is not None:
            ids = self._split_ids(split)
        if ids is not None:
            ids = list(ids)
            unknown = [i for i in ids if i not in entries.index]
            if unknown:
                raise ChestxError(f"{data_entry_path(self.root)}: {len(unknown)} requested "
                                  f"images are not in the CSV (e.g. {unknown[0]})")
            entries = entries.loc[ids]
        self.entries = entries.reset_index(drop=True)
        self.image_ids: list[str] = self.entries["Image Index"].tolist()
        self.patient_ids = self.entries["Patient ID"].to_numpy(dtype=np.int64)
        cells = self.entries["Finding Labels"]
        vectors = {cell: labels_to_vector(cell, self.classes) for cell in cells.unique()}
        self.labels = np.stack([vectors[c] for c in cells]) if len(cells) else np.zeros(
            (0, len(self.classes)), dtype=np.float32)
        self._paths = find_images(self.root)

    def _split_ids(self, split: str) -> list[str]:
        if split in ("train_val", "trainval"):
            return read_split_list(self.root / TRAIN_VAL_LIST)
        if split in ("train", "val", "test"):
            return load_split(self.root, split)
        raise ChestxError(f"unknown split {split!r} (use train, val, test or train_val)")

    def __len__(self) -> int:
        return len(self.image_ids)

    def image_path(self, index: int) -> Path:
        """Path of image ``index``; :class:`ChestxError` when it is not under the folder."""
        name = self.image_ids[index]
        if name not in self._paths:
            raise ChestxError(f"{self.root}: image {name} not found under images/")
        return self._paths[name]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = to_tensor(read_gray(self.image_path(index)), self.image_size)
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.from_numpy(self.labels[index].copy())


class ReleaseDataset(Dataset):
    """A public release (:func:`chestx.data.releases.open_dataset`) as a torch Dataset.

    Parameters
    ----------
    release : the :class:`~chestx.data.releases.Release` read from the root.
    ids : Image Index values to serve, in that order (``None``: every kept image).
    classes : 14 or 8 (see :class:`NIHDataset`).
    image_size, transform : as :class:`NIHDataset`.

    Notes
    -----
    ``ds[i]`` is ``(image float32 (1, H, W), labels float32 (C,))``; a label is NaN where it
    is unknown (uncertain under ``--uncertain ignore``, or a finding the release does not
    label): the losses and the AUC leave those entries out.
    """

    def __init__(self, release: Release, ids: Sequence[str] | None = None, classes: int = 14,
                 image_size: int | None = None, transform: Callable | None = None) -> None:
        self.root = release.root
        self.classes: tuple[str, ...] = classes_for(classes)
        self.image_size = image_size
        self.transform = transform
        known = set(release.image_ids)
        ids = release.image_ids if ids is None else list(ids)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ChestxError(f"{release.root}: {len(unknown)} requested images are not in "
                              f"the {release.name} metadata (e.g. {unknown[0]})")
        self.image_ids: list[str] = ids
        self.labels = release.labels(self.classes, ids)
        self._paths = release.image_paths()

    def __len__(self) -> int:
        return len(self.image_ids)

    def image_path(self, index: int) -> Path:
        return self._paths[self.image_ids[index]]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = to_tensor(read_gray(self.image_path(index)), self.image_size)
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.from_numpy(self.labels[index].copy())
