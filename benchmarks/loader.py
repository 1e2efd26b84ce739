"""Images/s delivered to training: decoding + resizing PNGs vs the memory-mapped cache,
measured in the same run on the same images.

    .venv/bin/python benchmarks/loader.py [--data DIR] [--size 512] [--n 60] [--workers 0]

Without ``--data`` it builds a temporary NIH-layout folder of ``--n`` 1024-px PNGs: copies of
the three real NIH images in ../shared when present, else synthetic phantoms.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from torch.utils.data import DataLoader

from chestx.data.cache import CachedDataset, build_cache, find_cache
from chestx.data.datasets import NIHDataset
from chestx.data.nih import DATA_ENTRY_COLUMNS

SHARED_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nih" / "images"


def sample_folder(root: Path, n: int) -> Path:
    """An NIH-layout folder of ``n`` 1024-px PNGs (real NIH copies or phantoms)."""
    real = sorted(SHARED_IMAGES.glob("*.png")) if SHARED_IMAGES.is_dir() else []
    if not real:
        from chestx.synth.cohort import synthesize

        return synthesize(root, n=n, size=1024, seed=0)
    (root / "images").mkdir(parents=True)
    rows = [",".join(DATA_ENTRY_COLUMNS)]
    for i in range(n):
        name = f"{i + 1:08d}_000.png"
        shutil.copy(real[i % len(real)], root / "images" / name)
        rows.append(f"{name},No Finding,0,{i + 1},50,M,PA,1024,1024,0.143,0.143")
    (root / "Data_Entry_2017.csv").write_text("\n".join(rows) + "\n")
    return root


def rate(dataset, workers: int, batch: int = 8) -> float:
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers)
    started = time.perf_counter()
    count = sum(len(images) for images, _ in loader)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or sample_folder(Path(tmp) / "data", args.n)
        cache_out = Path(tmp) / "cache"
        raw = NIHDataset(data, image_size=args.size)
        started = time.perf_counter()
        build_cache(data, args.size, out=cache_out, workers=2, progress=False)
        build_seconds = time.perf_counter() - started
        cache = find_cache(data, args.size, out=cache_out)
        cached = CachedDataset(cache, raw.image_ids, raw.labels, args.size)
        png = rate(raw, args.workers)
        mapped = rate(cached, args.workers)
    print(f"{len(raw)} images -> {args.size} px, {args.workers} workers")
    print(f"PNG decode + resize : {png:8.1f} images/s")
    print(f"memory-mapped cache : {mapped:8.1f} images/s   ratio {mapped / png:.1f}x")
    print(f"(building the cache took {build_seconds:.1f} s, once)")


if __name__ == "__main__":
    main()
