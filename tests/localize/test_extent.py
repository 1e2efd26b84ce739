"""The box extent: fitted per finding on calibration boxes, kept in the checkpoint, used by
the predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from chestx.inference.predictor import Predictor
from chestx.localize.extent import EXTENT_KEY, BoxExtent, extent_of, fit_extent, level_overlaps
from chestx.localize.generators import RegionBoxGenerator
from chestx.models import build_model
from chestx.models.checkpoint import save_checkpoint, update_checkpoint
from chestx.models.state import read_checkpoint


def blob_map(size: int = 16) -> np.ndarray:
    """A cone: 1 at cell (8, 8), falling by 0.1 a cell (Chebyshev distance)."""
    rows, cols = np.mgrid[:size, :size]
    return np.clip(1.0 - 0.1 * np.maximum(abs(rows - 8), abs(cols - 8)), 0, None)


def test_fit_chooses_each_findings_own_level():
    heat = np.stack([blob_map(), blob_map()]).astype(np.float32)
    classes = ("Mass", "Nodule")
    maps = [(f"{i}.png", (64, 64), classes, heat, np.ones(2)) for i in range(3)]
    # cell c at pixel 4c + 1.5 (tiles); the cone at level l spans Chebyshev radius
    # (1 - l) / 0.1 cells around cell 8 (pixel 33.5): a wide Mass, a small Nodule
    gt = pd.DataFrame([(f"{i}.png", f, *box) for i in range(3) for f, box in (
        ("Mass", (18, 18, 32, 32)), ("Nodule", (30, 30, 8, 8)))],
        columns=["Image Index", "Finding Label", "x", "y", "w", "h"])
    overlaps = level_overlaps(maps, gt)
    extent = fit_extent(overlaps, "three images", heatmap_size=16)
    # Mass: every level up to 0.6 hits both ways (from 0.7 the box is too small for IoU >
    # 0.3): a tie, the default 0.6 kept; Nodule: 0.8 and 0.9 both hit, 0.8 nearer the default
    assert extent.levels == {"Mass": 0.6, "Nodule": 0.8}
    assert extent.n_boxes == {"Mass": 3, "Nodule": 3}
    params = extent.generator_params("region")
    generator = RegionBoxGenerator(**params)
    mass = generator(heat[0], (64, 64), "Mass")[0]
    nodule = generator(heat[1], (64, 64), "Nodule")[0]
    assert (mass.w, nodule.w) == (20.0, 10.0)
    assert extent.generator_params("paper") == {}
    assert BoxExtent.from_dict(extent.to_dict()) == extent


def test_extent_kept_in_the_checkpoint_and_read_by_the_predictor(tmp_path):
    model = build_model("resnet18", num_classes=14, image_size=64)
    path = save_checkpoint(tmp_path / "best.pt", model, epoch=3)
    assert extent_of(read_checkpoint(path)) == BoxExtent()  # none fitted: the default
    extent = BoxExtent(levels={"Nodule": 0.9, "Cardiomegaly": 0.3}, heatmap_size=2,
                       calibrated_on="a half", n_boxes={"Nodule": 4, "Cardiomegaly": 5})
    update_checkpoint(path, **{EXTENT_KEY: extent.to_dict()})
    state = read_checkpoint(path)
    assert state["epoch"] == 3 and extent_of(state) == extent
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state["model_state"].items())
    predictor = Predictor.from_checkpoint(path)
    assert predictor.extent == extent
    assert predictor.box_params == {"level": extent.default,
                                    "levels": {"Nodule": 0.9, "Cardiomegaly": 0.3}}
