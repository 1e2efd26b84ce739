"""The preprocessing cache: same pixels as the file path, bad images skipped, used by train."""

import numpy as np
import torch

from chestx.data.cache import CachedDataset, build_cache, find_cache
from chestx.data.datasets import NIHDataset
from chestx.data.images import read_gray
from chestx.data.tensors import to_tensor
from chestx.training.loaders import SkipUnreadable, image_dataset


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_cache_matches_file_path_and_skips_bad_images(tiny_data, tmp_path):
    data = _copy(tiny_data, tmp_path / "data")
    images = sorted((data / "images").iterdir())
    images[3].write_bytes(b"broken png")  # one corrupt image
    report = build_cache(data, size=24, workers=2, progress=False)
    assert report.path == data / "cache" / "images_24.npy"
    assert report.n_images == len(images) - 1
    assert [name for name, _ in report.bad] == [images[3].name]
    array = np.load(report.path, mmap_mode="r")
    assert array.dtype == np.uint8 and array.shape == (len(images), 24, 24)
    cache = find_cache(data, 24)
    assert cache is not None and images[3].name not in cache
    expected = to_tensor(read_gray(images[5]), 24)[0]
    got = torch.from_numpy(cache[images[5].name].copy()).float() / 255
    assert (got - expected).abs().max() <= 0.5 / 255 + 1e-6  # rounding only
    # no partial/done files left
    assert sorted(p.name for p in (data / "cache").iterdir()) == [
        "images_24.index.csv", "images_24.npy"]


def test_train_uses_cache_when_it_covers_the_images(tiny_data, tmp_path):
    data = _copy(tiny_data, tmp_path / "data")
    ids = NIHDataset(data).image_ids[:10]
    assert isinstance(image_dataset(data, ids, 14, 32), SkipUnreadable)  # no cache yet
    build_cache(data, size=32, progress=False)
    cached = image_dataset(data, ids, 14, 32)
    raw = image_dataset(data, ids, 14, 32, use_cache=False)
    assert isinstance(cached, CachedDataset)
    for i in (0, 7):
        image, labels = cached[i]
        ref_image, ref_labels = raw[i]
        assert image.shape == (1, 32, 32)
        assert (image - ref_image).abs().max() <= 0.5 / 255 + 1e-6
        assert torch.equal(labels, ref_labels)
    # a larger cache serves a smaller training size (resized on the fly)
    assert isinstance(image_dataset(data, ids, 14, 16), CachedDataset)
    assert image_dataset(data, ids, 14, 16)[0][0].shape == (1, 16, 16)


class Killed(Exception):
    """Stands for the process being killed in the middle of a cache build."""


def test_cache_build_resumes(tiny_data, tmp_path, monkeypatch):
    import chestx.data.cache as cache_module

    data = _copy(tiny_data, tmp_path / "data")
    calls = []
    real = cache_module._resized
    kill_at = [20]

    def counting(path, size):
        calls.append(path.name)
        if len(calls) == kill_at[0]:
            raise Killed
        return real(path, size)

    monkeypatch.setattr(cache_module, "_FLUSH_EVERY", 8)
    monkeypatch.setattr(cache_module, "_resized", counting)
    try:
        build_cache(data, size=16, workers=1, progress=False)
    except Killed:
        pass
    assert find_cache(data, 16) is None  # unfinished caches are never used
    calls.clear()
    kill_at[0] = -1
    report = build_cache(data, size=16, workers=1, progress=False)
    assert report.n_images == 48 and len(calls) <= 48 - 16  # flushed rows were not redone
