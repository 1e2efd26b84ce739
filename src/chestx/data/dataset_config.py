"""What the dataset commands take: ``split``, ``stats``, ``cache`` and ``boxes`` (VOC files).

No third-party imports: the CLI reads this module to build its options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.fields import option

DATA_HELP = "Dataset folder (or its Data_Entry CSV)."
NIH_FOLDER_HELP = "Dataset folder in the NIH layout."


@dataclass
class SplitConfig:
    """Settings of :func:`chestx.data.splits.make_split` from the command line."""

    data: Path = option(help=DATA_HELP)
    out: Path = option(help="Folder for train.txt, val.txt, test.txt.")
    official: bool = option(False, "Test = test_list.txt; train_val split 7:1.",
                            flags=("--official",))
    seed: int = option(0, "Seed of the patient assignment.")
    ratios: str = option("0.7,0.1,0.2", "Train,val,test shares of images (random mode).")


@dataclass
class StatsConfig:
    """Settings of :func:`chestx.data.stats.dataset_stats` from the command line."""

    data: Path = option(help=DATA_HELP)
    as_json: bool = option(False, "Print JSON instead of a table.", flags=("--json",))
    plot: Path | None = option(None, "Also draw the co-occurrence matrix to this PNG.")


@dataclass
class CacheConfig:
    """Settings of :func:`chestx.data.cache.build_cache`."""

    data: Path = option(help=NIH_FOLDER_HELP)
    size: int = option(512, "Side of the cached images.")
    out: Path | None = option(None, "Cache folder (default DIR/cache).")
    workers: int = option(2, "Decoding threads.")


@dataclass
class VocExportConfig:
    """Settings of :func:`chestx.data.annotations.export_voc`."""

    gt: Path = option(help="BBox_List_2017.csv (or .csv.gz).")
    out: Path = option(help="Empty folder for the .xml files.")
    images: Path | None = option(None, "Dataset folder: read each image's size from its file.")
    image_size: int = option(1024, "Size written for images not found (NIH: 1024).", min=1)


@dataclass
class VocImportConfig:
    """Settings of :func:`chestx.data.annotations.import_voc`."""

    folder: Path = option(help="Folder of VOC .xml files (one box each).", argument=True)
    out: Path = option(help="BBox_List_2017.csv to write.")
