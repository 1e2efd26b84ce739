"""What ``chestx predict`` (= ``localize``) and ``chestx export`` take, and the options every
command that runs a model shares (no third-party imports: the CLI reads this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chestx.data.dataset_config import dataset_option, readers_option
from chestx.fields import option
from chestx.findings import DEFAULT_THRESHOLD
from chestx.trust.trust_config import operating_point_option


def checkpoint_option() -> Any:
    """The trained model a command runs (required)."""
    return option(help="Trained model, e.g. RUN/best.pt.")


def threshold_option(what: str) -> Any:
    """One threshold for every finding (``None``: the checkpoint's per-finding ones)."""
    return option(None, f"Probability at which {what} (default: the checkpoint's "
                        f"per-finding operating point, else {DEFAULT_THRESHOLD}).",
                  min=0.0, max=1.0)


def heatmap_option() -> Any:
    """The heatmap source of a command that runs a model."""
    return option("cam", "Heatmap source: cam (the paper's) | gradcam | gradcam++.")


def heatmap_size_option() -> Any:
    """The heatmap side of a command that runs a model (``None``: as trained)."""
    return option(None, "Localize at S x S heatmaps (8, 16, 32): the model's weights on a "
                        "dilated backbone (default: the finest up to 32, as evaluate; "
                        "probabilities stay those of the model as trained).")


def save_heatmaps_option() -> Any:
    """Whether a command that localizes also writes its heatmaps as images."""
    return option(False, "Also write OUT/heatmaps/<image stem>__<Finding>.png: the map at the "
                         "image's size, 8-bit, 255 at its maximum (positive findings and, with "
                         "ground truth, the boxed ones).", flags=("--save-heatmaps",))


@dataclass
class PredictConfig:
    """Settings of :class:`chestx.inference.predictor.Predictor` and
    :func:`chestx.inference.predictor.predict_paths` from the command line."""

    inputs: list[Path] = option(help="PNG, JPEG or DICOM files, or folders of them.",
                                argument=True, metavar="IMAGE_OR_DIR...")
    checkpoint: Path = checkpoint_option()
    out: Path | None = option(None, "Write predictions.csv, boxes.csv and overlays/ here.")
    as_json: bool = option(False, "Print all predictions as JSON.", flags=("--json",))
    threshold: float | None = threshold_option("every finding is positive and boxed")
    operating_point: str | None = operating_point_option()
    batch_size: int = option(8, "Images per forward pass.", min=1)
    box_method: str | None = option(None, "Heatmap-to-box method (default: peak).",
                                    flags=("--box-method", "--method"))
    gt: Path | None = option(None, "NIH BBox_List_2017.csv or a dataset root with boxes "
                                   "(VinDr-CXR, RSNA): overlays draw ground truth blue, hits "
                                   "green, false positives red.")
    dataset: str | None = dataset_option()
    readers: str = readers_option()
    resume: bool = option(False, "Keep what --out already holds; predict only the rest.",
                          flags=("--resume",))
    save_heatmaps: bool = save_heatmaps_option()
    heatmap: str = heatmap_option()
    heatmap_size: int | None = heatmap_size_option()


@dataclass
class ExportConfig:
    """Settings of :func:`chestx.inference.export.export_model`."""

    checkpoint: Path = checkpoint_option()
    fmt: str = option(help="onnx or torchscript.", flags=("--format",))
    out: Path = option(help="File to write (e.g. model.onnx, model.pt).")
