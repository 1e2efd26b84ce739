"""What ``chestx ingest`` takes (no third-party imports: the CLI reads this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.fields import option


@dataclass
class IngestConfig:
    """Settings of :func:`chestx.database.ingest.ingest` (and of the de-identification that
    may come first) from the command line."""

    dicom_dir: Path = option(help="Folder of DICOM files (walked recursively).", argument=True,
                             metavar="DICOM_DIR")
    out: Path = option(help="Dataset folder to create or extend.")
    reports: Path | None = option(None, "CSV with accession and/or study_uid, and text.")
    workers: int = option(1, "Processes for decoding and labeling.")
    size: int = option(1024, "Side of the square PNGs (paper: 1024).")
    unknown_views: str = option("skip", "Images whose view is unknown: skip or keep.")
    pad_square: bool = option(False, "Pad non-square images to a square (keeps the aspect "
                                     "ratio) instead of stretching them as NIH did.",
                              flags=("--pad-square",))
    deidentify: bool = option(False, "De-identify the files first (PS3.15 basic profile) into "
                                     "OUT/dicom; the key goes to --key.",
                              flags=("--deidentify",))
    key: Path | None = option(None, "De-identification key file (default: "
                                    "OUT-private/deid_key.sqlite, outside OUT).")
