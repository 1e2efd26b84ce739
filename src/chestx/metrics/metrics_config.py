"""What ``chestx label-audit`` and ``chestx eval-boxes`` take (no third-party imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.data.dataset_config import dataset_option, readers_option
from chestx.fields import option


@dataclass
class LabelAuditConfig:
    """Settings of :func:`chestx.metrics.label_audit.audit_files`."""

    data: Path = option(help="Dataset folder (or its Data_Entry CSV).")
    against: Path = option(help="Radiologist labels, e.g. "
                                "google2019_nih-chest-xray-labels.csv.gz.")
    out: Path | None = option(None, "Also write the table to this CSV.")


@dataclass
class EvalBoxesConfig:
    """Settings of :func:`chestx.metrics.localization.evaluate_box_files`."""

    pred: Path = option(help="PRED.csv: Image Index,Finding Label,x,y,w,h[,score] in pixels "
                             "of the stored (1024-px) images.")
    gt: Path = option(help="Hand-drawn boxes: NIH BBox_List_2017.csv(.gz), or a dataset "
                           "root with boxes (NIH, VinDr-CXR, RSNA).")
    out: Path = option(help="Folder for localization.csv.")
    dataset: str | None = dataset_option()
    readers: str = readers_option()
