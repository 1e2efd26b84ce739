"""Preprocessing cache: every image decoded and resized once into one memory-mapped array.

Decoding and resizing 1024-px PNGs starves a GPU. ``chestx cache --data DIR --size 512``
writes, in ``DIR/cache/`` (or ``--out``)::

    images_512.npy         uint8 (N, 512, 512), a plain .npy opened with mmap_mode="r"
    images_512.index.csv   Image Index,row  (written last: its presence marks completion)

Images are resized exactly as :func:`chestx.data.images.to_tensor` does (bilinear,
antialiased), then rounded to uint8. Unreadable images are skipped and reported; their rows
stay zero and are absent from the index. An interrupted build resumes: rows already done are
recorded in ``images_512.done.npy`` (flushed every few hundred images).

``chestx train`` uses a cache automatically when one covers its images at the training size
or larger (a larger one is resized on the fly, still far cheaper than PNG decoding).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from chestx.atomic import atomic_open, atomic_path
from chestx.data.images import read_gray
from chestx.data.releases import DataOptions, open_dataset
from chestx.data.tensors import resize, to_tensor
from chestx.errors import ChestxError
from chestx.progress import new_progress

CACHE_DIR = "cache"
_FLUSH_EVERY = 256


def cache_dir(root: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Where the cache of dataset ``root`` lives: ``out`` or ``root/cache``."""
    return Path(out) if out is not None else Path(root) / CACHE_DIR


def _paths(folder: Path, size: int) -> tuple[Path, Path, Path]:
    stem = folder / f"images_{size}"
    return (stem.with_suffix(".npy"), Path(f"{stem}.index.csv"), Path(f"{stem}.done.npy"))


@dataclass
class CacheReport:
    """What :func:`build_cache` did: the array, how many images, which failed and why."""

    path: Path
    size: int
    n_images: int
    bad: list[tuple[str, str]] = field(default_factory=list)


def _resized(path: Path, size: int) -> np.ndarray:
    tensor = to_tensor(read_gray(path), size)
    return (tensor[0] * 255.0).round_().to(torch.uint8).numpy()


def build_cache(root: str | os.PathLike, size: int = 512, out: str | os.PathLike | None = None,
                ids: Sequence[str] | None = None, workers: int = 2,
                progress: bool = True, options: DataOptions | None = None) -> CacheReport:
    """Decode and resize the images of dataset ``root`` (all its kept images, or ``ids``)
    into ``images_{size}.npy`` (uint8 ``(N, size, size)``); resumable; returns a report.
    ``root`` may be any release :func:`chestx.data.releases.open_dataset` reads."""
    if size < 8:
        raise ChestxError(f"cache size must be at least 8 pixels, got {size}")
    folder = cache_dir(root, out)
    folder.mkdir(parents=True, exist_ok=True)
    array_path, index_path, done_path = _paths(folder, size)
    release = open_dataset(root, options)
    names = list(ids) if ids is not None else release.image_ids
    files = release.image_paths()
    partial = array_path.with_name(f".{array_path.stem}.partial.npy")
    resuming = partial.is_file() and done_path.is_file()
    if resuming:
        array = np.load(partial, mmap_mode="r+")
        done = np.load(done_path)
        if array.shape != (len(names), size, size) or done.shape != (len(names),):
            resuming = False
    if not resuming:
        array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                          shape=(len(names), size, size))
        done = np.zeros(len(names), dtype=bool)
    bad: dict[int, str] = {}
    todo = [i for i in range(len(names)) if not done[i]]

    def load(i: int) -> tuple[int, np.ndarray | None]:
        if names[i] not in files:
            bad[i] = "image not found"
            return i, None
        try:
            return i, _resized(files[names[i]], size)
        except ChestxError as exc:
            bad[i] = str(exc)
            return i, None

    with new_progress() if progress else _Silent() as bar, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        task = bar.add_task(f"cache {size}px", total=len(names), completed=len(names) - len(todo))
        for count, (i, pixels) in enumerate(pool.map(load, todo), start=1):
            if pixels is not None:
                array[i] = pixels
                done[i] = True
            bar.advance(task)
            if count % _FLUSH_EVERY == 0:
                _flush(array, done, done_path)
    _flush(array, done, done_path)
    del array
    os.replace(partial, array_path)
    rows = np.flatnonzero(done)
    with atomic_open(index_path) as handle:
        pd.DataFrame({"Image Index": [names[i] for i in rows], "row": rows}).to_csv(
            handle, index=False)
    done_path.unlink(missing_ok=True)
    return CacheReport(array_path, size, int(len(rows)),
                       [(names[i], msg) for i, msg in sorted(bad.items())])


def _flush(array: np.memmap, done: np.ndarray, done_path: Path) -> None:
    array.flush()  # pixels reach the file before the rows are marked done
    with atomic_path(done_path) as tmp:
        np.save(tmp, done)


class _Silent:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args) -> None:
        pass


class ImageCache:
    """A finished cache: ``cache[name]`` -> uint8 ``(size, size)``. The array is opened
    read-only, lazily (so each DataLoader worker maps it after forking)."""

    def __init__(self, array_path: str | os.PathLike) -> None:
        self.path = Path(array_path)
        self.size = int(self.path.stem.rsplit("_", 1)[1])
        index = pd.read_csv(_paths(self.path.parent, self.size)[1], dtype={"row": np.int64})
        self.rows: dict[str, int] = dict(zip(index["Image Index"], index["row"], strict=True))
        self._array: np.ndarray | None = None

    def __contains__(self, name: str) -> bool:
        return name in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def covers(self, names: Sequence[str]) -> bool:
        return all(n in self.rows for n in names)

    def __getitem__(self, name: str) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return np.asarray(self._array[self.rows[name]])


def find_cache(root: str | os.PathLike, image_size: int, out: str | os.PathLike | None = None,
               names: Sequence[str] | None = None) -> ImageCache | None:
    """The finished cache at ``image_size`` (or the smallest larger one) that holds every
    image in ``names``; ``None`` when there is none."""
    folder = cache_dir(root, out)
    if not folder.is_dir():
        return None
    sizes = []
    for path in folder.glob("images_*.npy"):
        size = path.stem.rsplit("_", 1)[1]
        if size.isdigit() and int(size) >= image_size and _paths(folder, int(size))[1].is_file():
            sizes.append(int(size))
    for size in sorted(sizes):
        cache = ImageCache(_paths(folder, size)[0])
        if names is None or cache.covers(names):
            return cache
    return None


class CachedDataset(Dataset):
    """``(image float32 (1, S, S) in [0, 1], labels float32 (C,))`` read from an
    :class:`ImageCache`, the same items as :class:`chestx.data.nih.NIHDataset` gives."""

    def __init__(self, cache: ImageCache, image_ids: Sequence[str], labels: np.ndarray,
                 image_size: int | None = None, transform: Callable | None = None) -> None:
        self.cache = cache
        self.image_ids = list(image_ids)
        self.labels = np.asarray(labels, dtype=np.float32)
        self.image_size = image_size
        self.transform = transform

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = torch.from_numpy(self.cache[self.image_ids[index]].copy())
        image = pixels.to(torch.float32).div_(255.0)[None]
        if self.image_size is not None and self.image_size != image.shape[-1]:
            image = resize(image[None], (self.image_size, self.image_size))[0]
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.from_numpy(self.labels[index].copy())
