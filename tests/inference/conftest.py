"""Fixtures: a transparent "model" whose heatmap is the image itself, and a tiny ChestXNet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from chestx.models.model_config import ModelConfig


class BrightnessNet(nn.Module):
    """Stands in for a ChestXNet with known heatmaps: ``Mass`` heat = the image averaged over
    8 x 8 blocks of its ``image_size`` input (bright = hot), ``Nodule`` heat = its negative.
    Logits: ``Mass`` = 20 * (brightest block - 0.25) (positive when a bright blob is present),
    ``Nodule`` = -5."""

    def __init__(self, image_size: int = 64) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # gives the model a device
        self.config = ModelConfig(classes=("Mass", "Nodule"), image_size=image_size)

    def forward_heatmaps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heat = F.avg_pool2d(x, 8)  # (N, 1, S, S) with S = image_size / 8
        heatmaps = torch.cat([heat, -heat], dim=1)
        peak = heat.amax(dim=(1, 2, 3))
        logits = torch.stack([20 * (peak - 0.25), torch.full_like(peak, -5.0)], dim=1)
        return logits, heatmaps


@pytest.fixture
def brightness_net() -> BrightnessNet:
    return BrightnessNet()


def blob_image(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 ``shape`` image, dark (20) with a bright (230) rectangle ``x, y, w, h``."""
    gray = np.full(shape, 20, dtype=np.uint8)
    x, y, w, h = box
    gray[y:y + h, x:x + w] = 230
    return gray


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random-init ResNet-18 ChestXNet for 64-px inputs, saved as a chestx checkpoint."""
    from chestx.models import build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model("resnet18", 14, image_size=64).eval()
    return save_checkpoint(tmp_path_factory.mktemp("run") / "best.pt", model)


@pytest.fixture
def make_blob():
    """``make_blob(shape, (x, y, w, h))`` -> uint8 image with one bright rectangle."""
    return blob_image
