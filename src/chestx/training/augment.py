"""Augmentations on image tensors, done per sample on the whole batch (on the GPU when
training there): a random resized crop with a small rotation (one affine warp), and
brightness/contrast jitter. No flips: the heart is on the left, and flipping would teach
the model that Cardiomegaly may sit on the right."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    """Random crop area (share of the image), aspect jitter, rotation (degrees), and
    brightness/contrast jitter (absolute shift / relative gain)."""

    crop_area: tuple[float, float] = (0.75, 1.0)
    aspect: tuple[float, float] = (0.9, 1.1)
    max_rotation: float = 7.0
    brightness: float = 0.08
    contrast: float = 0.15

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """``images`` ``(N, 1, H, W)`` in [0, 1] -> same shape, each sample warped and
        jittered with its own parameters drawn from ``generator`` (on the CPU, so a seed
        gives the same augmentations on any device)."""
        n = images.shape[0]

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(n, generator=generator)

        area = uniform(*self.crop_area)
        aspect = torch.exp(uniform(math.log(self.aspect[0]), math.log(self.aspect[1])))
        sx = (area * aspect).sqrt().clamp(max=1.0)  # crop width as a share of the image
        sy = (area / aspect).sqrt().clamp(max=1.0)
        tx = (1 - sx) * uniform(-1.0, 1.0)  # crop centre, staying inside the image
        ty = (1 - sy) * uniform(-1.0, 1.0)
        angle = torch.deg2rad(uniform(-self.max_rotation, self.max_rotation))
        cos, sin = torch.cos(angle), torch.sin(angle)
        # affine_grid maps output to input coordinates in [-1, 1]
        theta = torch.stack([torch.stack([sx * cos, -sy * sin, tx], 1),
                             torch.stack([sx * sin, sy * cos, ty], 1)], 1)
        theta = theta.to(images.device, images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                               align_corners=False)
        gain = (1 + uniform(-self.contrast, self.contrast)).to(images.device, images.dtype)
        shift = uniform(-self.brightness, self.brightness).to(images.device, images.dtype)
        mean = warped.mean(dim=(1, 2, 3), keepdim=True)
        jittered = (warped - mean) * gain.view(n, 1, 1, 1) + mean + shift.view(n, 1, 1, 1)
        return jittered.clamp(0.0, 1.0)
