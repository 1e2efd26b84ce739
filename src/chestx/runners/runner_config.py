"""What ``chestx evaluate`` and ``chestx reproduce`` take beyond a training configuration
(no third-party imports: the CLI reads this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.data.dataset_config import (
    dataset_option,
    readers_option,
    uncertain_option,
    views_option,
)
from chestx.fields import option
from chestx.inference.predict_config import (
    heatmap_option,
    heatmap_size_option,
    save_heatmaps_option,
    threshold_option,
)


@dataclass
class EvaluateConfig:
    """Settings of :func:`chestx.runners.evaluate.evaluate_checkpoint` from the command line."""

    checkpoint: Path = option(help="A run's best.pt.")
    data: Path = option(help="Dataset folder in the NIH layout, or a public release's root "
                             "(cross-dataset: the shared findings).")
    out: Path = option(help="Folder for predictions.csv, auc.csv, roc.png, calibration.csv, "
                            "calibration.png.")
    split: str = option("test", "test | val | train | all")
    batch_size: int = option(16)
    device: str = option("auto", "auto | cpu | cuda")
    workers: int | None = option(None, "DataLoader processes (default 0 on a CPU of <= 4 "
                                       "cores).")
    threshold: float | None = threshold_option("predictions.csv calls every finding "
                                               "positive (Finding Labels)")
    labels: Path | None = option(None, "Radiologist labels (e.g. google2019_nih-chest-xray-"
                                       "labels.csv.gz): also the AUC against them, beside the "
                                       "dataset's own.")
    heatmap: str = heatmap_option()
    heatmap_size: int | None = heatmap_size_option()
    calibrate_boxes: Path | None = option(None, "Box list (BBox_List_2017.csv form) whose "
                                          "boxes fit the box extent per finding (default: the "
                                          "validation images' boxes, else a patient-wise half "
                                          "of the evaluated ones; the fit is saved in the "
                                          "checkpoint).")
    save_heatmaps: bool = save_heatmaps_option()
    dataset: str | None = dataset_option()
    uncertain: str = uncertain_option()
    views: str | None = views_option()
    readers: str = readers_option()


@dataclass
class ReproduceGrid:
    """Which ablation :func:`chestx.runners.reproduce.reproduce` runs."""

    grid: str = option(help="backbones | losses | pooling")
    values: str | None = option(None, "Comma list overriding the grid, e.g. resnet18,alexnet "
                                      "or lse:10,avg or ce,wce.")

    def chosen(self) -> list[str] | None:
        """The ``values`` as a list (``None``: the grid's own)."""
        if not self.values:
            return None
        return [v.strip() for v in self.values.split(",") if v.strip()]
