"""What ``chestx synth`` and ``chestx synth-dicom`` take (no third-party imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.fields import option


@dataclass
class SynthConfig:
    """Settings of :func:`chestx.synth.cohort.synthesize`."""

    out: Path = option(help="Folder to create (NIH layout).", argument=True)
    n: int = option(1000, "Number of images.", min=1)
    size: int = option(256, "Image side in pixels.", min=32)
    seed: int = option(0, "Random seed (same seed, same files).")
    workers: int | None = option(None, "Drawing processes (default: up to 2).", min=1)


@dataclass
class SampleDicomConfig:
    """Settings of :func:`chestx.synth.dicoms.make_sample_folder`."""

    out: Path = option(help="Folder to create (dicom/ and reports.csv).", argument=True)
    patients: int = option(4, "Patients (1 to 3 studies each).", min=1)
    size: int = option(256, "Image height in pixels.", min=16)
    seed: int = option(0, "Random seed (same seed, same pixels).")
    sr: bool = option(False, "Also write each report as a DICOM SR.", flags=("--sr",))
