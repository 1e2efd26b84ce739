"""Speed of ``chestx synth``: images per second, and the ratio to a same-run baseline.

Baseline: encoding and saving the same number of 256-px 8-bit PNGs of noise (the I/O floor
every writer pays). Target: 1000 images at 256 px well under a minute on 2 cores.

    .venv/bin/python benchmarks/synth_speed.py [N] [SIZE]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from chestx.synth.cohort import synthesize


def baseline(out: Path, n: int, size: int) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    out.mkdir()
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size), dtype=np.uint8)
        Image.fromarray(pixels).save(out / f"{i:08d}.png", compress_level=3)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, nargs="?", default=200, help="images (200)")
    parser.add_argument("size", type=int, nargs="?", default=256, help="side in px (256)")
    args = parser.parse_args()
    n, size = args.n, args.size
    with tempfile.TemporaryDirectory() as tmp:
        floor = baseline(Path(tmp) / "baseline", n, size)
        for workers in (1, 2):
            start = time.perf_counter()
            synthesize(Path(tmp) / f"synth{workers}", n=n, size=size, seed=0, workers=workers)
            took = time.perf_counter() - start
            print(f"synth n={n} size={size} workers={workers}: {took:.1f} s "
                  f"({n / took:.0f} images/s, 1000 images ~{1000 * took / n:.0f} s); "
                  f"{took / floor:.1f}x the PNG-writing baseline ({floor:.1f} s)")


if __name__ == "__main__":
    main()
