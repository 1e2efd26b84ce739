"""Tensor augmentations: per-sample, seeded, bounded, and the identity when switched off."""

import torch

from chestx.training import Augment


def test_identity_parameters_leave_images_unchanged():
    images = torch.rand(3, 1, 16, 16)
    off = Augment(crop_area=(1.0, 1.0), aspect=(1.0, 1.0), max_rotation=0.0, brightness=0.0,
                  contrast=0.0)
    torch.testing.assert_close(off(images, torch.Generator().manual_seed(0)), images,
                               atol=1e-5, rtol=0)


def test_seeded_per_sample_and_in_range():
    images = torch.rand(1, 1, 32, 32).repeat(4, 1, 1, 1)
    augment = Augment()
    first = augment(images, torch.Generator().manual_seed(3))
    again = augment(images, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again)
    assert first.shape == images.shape
    assert first.min() >= 0 and first.max() <= 1
    # the same image gets different warps within one batch
    assert not torch.allclose(first[0], first[1])


def test_crop_zooms_in():
    # a centred bright square grows when the crop area shrinks (zoom-in), shape is kept
    images = torch.zeros(1, 1, 32, 32)
    images[..., 12:20, 12:20] = 1.0
    zoom = Augment(crop_area=(0.25, 0.25), aspect=(1.0, 1.0), max_rotation=0.0,
                   brightness=0.0, contrast=0.0)
    out = zoom(images, torch.Generator().manual_seed(0))
    assert (out > 0.5).sum() > 2 * (images > 0.5).sum()
