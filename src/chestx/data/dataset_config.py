"""What the dataset commands take: ``split``, ``stats``, ``cache`` and ``boxes`` (VOC files).

No third-party imports: the CLI reads this module to build its options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chestx.fields import option

DATA_HELP = "Dataset folder (or its Data_Entry CSV), or a public release's root."
NIH_FOLDER_HELP = "Dataset folder in the NIH layout, or a public release's root."

#: How uncertain labels (-1.0) enter training and AUC (Irvin et al. 2019): ``ignore`` masks
#: them out (NaN), ``zeros`` reads them as negative, ``ones`` as positive.
UNCERTAIN_POLICIES = ("ignore", "zeros", "ones")
#: ``--readers`` values: VinDr's radiologists fused into one box/label set, or kept apart.
READER_MODES = ("fused", "all")


# the fields of chestx.data.releases.DataOptions, one option each, shared by the commands
# that read a dataset (chestx.data.releases.data_options turns them into DataOptions)
def dataset_option() -> Any:
    """``--dataset``: the release read from the data folder (default: detected)."""
    return option(None, "Force the layout of the dataset: nih, chexpert, mimic, padchest, "
                  "vindr, rsna (default: detected).")


def uncertain_option() -> Any:
    """``--uncertain``: the policy for uncertain labels (-1.0)."""
    return option("ignore", "Uncertain labels (-1.0): ignore (masked out of the loss and "
                  "AUC), zeros or ones.", choices=UNCERTAIN_POLICIES)


def views_option() -> Any:
    """``--views``: the views kept."""
    return option(None, "Views kept, e.g. PA,AP,LATERAL or all (default: frontal, PA and AP).")


def readers_option() -> Any:
    """``--readers``: VinDr's radiologists fused or kept apart."""
    return option("fused", "VinDr radiologists' boxes: fused (majority, mean box) or all "
                  "(kept apart, with a reader column).", choices=READER_MODES)


@dataclass
class SplitConfig:
    """Settings of :func:`chestx.data.splits.release_split` from the command line."""

    data: Path = option(help=DATA_HELP)
    out: Path = option(help="Folder for train.txt, val.txt, test.txt.")
    official: bool | None = option(
        None, "Official: NIH's test_list.txt (train_val split 7:1), a release's own parts "
        "(MIMIC split file, CheXpert train/valid, VinDr train/test). Default: random for NIH, "
        "official for a release that has one.", flags=("--official/--random",))
    seed: int = option(0, "Seed of the patient assignment.")
    ratios: str = option("0.7,0.1,0.2", "Train,val,test shares of images (random mode).")
    dataset: str | None = dataset_option()
    views: str | None = views_option()

    def mode(self, release_name: str) -> str:
        """``official`` or ``random``: as asked, else random for NIH and official for another
        release (:func:`chestx.data.splits.release_split` draws at random for one without
        its own split)."""
        if self.official is None:
            return "random" if release_name == "nih" else "official"
        return "official" if self.official else "random"


@dataclass
class StatsConfig:
    """Settings of :func:`chestx.data.stats.dataset_stats` from the command line."""

    data: Path = option(help=DATA_HELP)
    as_json: bool = option(False, "Print JSON instead of a table.", flags=("--json",))
    plot: Path | None = option(None, "Also draw the co-occurrence matrix to this PNG.")
    dataset: str | None = dataset_option()
    uncertain: str = uncertain_option()
    views: str | None = views_option()


@dataclass
class CacheConfig:
    """Settings of :func:`chestx.data.cache.build_cache`."""

    data: Path = option(help=NIH_FOLDER_HELP)
    size: int = option(512, "Side of the cached images.")
    out: Path | None = option(None, "Cache folder (default DIR/cache).")
    workers: int = option(2, "Decoding threads.")
    dataset: str | None = dataset_option()
    views: str | None = views_option()


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


@dataclass
class BoxesExportConfig:
    """Settings of :func:`chestx.data.releases.export.export_boxes`."""

    data: Path = option(help="Dataset root with boxes: VinDr-CXR, RSNA or NIH.")
    out: Path = option(help="BBox_List_2017.csv to write.")
    readers: str = readers_option()
    dataset: str | None = dataset_option()
    extra_labels: bool = option(False, "Keep the boxes of findings without an NIH counterpart "
                                "(source names).", flags=("--extra-labels",))
