#!/usr/bin/env python
"""Benchmark ``chestx ingest``: DICOM files per second with 1 and 2 worker processes.

Writes its own DICOM folder (default 200 files of 1024x1024 12-bit MONOCHROME2 chest
phantoms with a window, uncompressed; ``--syntax rle`` for RLE) into a temp dir, ingests it at
``--size 1024`` (the paper's) with 1 worker (the baseline) and then 2, and prints files/s and
the speed-up of 2 workers over 1 measured in the same run. Usage::

    .venv/bin/python benchmarks/ingest.py [--files 200] [--pixels 1024] [--syntax explicit]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import chestx.synth.dicoms as samples
from chestx.database.ingest import ingest


def make_folder(root: Path, files: int, pixels: int, syntax: str) -> float:
    """Write the DICOM folder; return the MB written."""
    rng = np.random.default_rng(0)
    base = samples.chest_phantom(pixels, pixels, rng)
    for i in range(files):
        noise = rng.integers(0, 16, base.shape, dtype=np.uint16)  # ~1 grey level
        stored = np.minimum(base + noise, 4095).astype(np.uint16)
        samples.write_dicom(root / f"p{i % 50:03d}" / f"im{i:04d}.dcm", stored, bits_stored=12,
                            window=(2048, 4096), patient_id=f"P{i % 50:03d}",
                            study_date=f"2020{1 + i // 50 % 12:02d}01", syntax=syntax)
    return sum(p.stat().st_size for p in root.rglob("*.dcm")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--pixels", type=int, default=1024, help="side of the DICOM images")
    parser.add_argument("--size", type=int, default=1024, help="side of the output PNGs")
    parser.add_argument("--syntax", default="explicit", choices=["explicit", "rle"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dicom"
        start = time.perf_counter()
        megabytes = make_folder(root, args.files, args.pixels, args.syntax)
        print(f"wrote {args.files} DICOM files ({args.pixels}x{args.pixels} 12-bit, "
              f"{args.syntax}, {megabytes:.0f} MB) in {time.perf_counter() - start:.1f} s")
        rates = {}
        for workers in (1, 2):
            out = Path(tmp) / f"out{workers}"
            start = time.perf_counter()
            summary = ingest(root, out, workers=workers, size=args.size, progress=False)
            seconds = time.perf_counter() - start
            assert summary.added == args.files, summary
            rates[workers] = args.files / seconds
            print(f"workers={workers}: {seconds:6.1f} s  {rates[workers]:6.1f} DICOMs/s  "
                  f"({megabytes / seconds:.0f} MB/s in)")
        print(f"speed-up of 2 workers over 1 (baseline, same run): {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
