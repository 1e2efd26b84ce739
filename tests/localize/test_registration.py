"""Heatmaps registered to the image: each cell drawn at its receptive field's centre.

A network whose answer is known: resnet18 with every convolution averaging its inputs,
BatchNorm the identity, no input normalization, and max pooling replaced by averaging
(:func:`linearized`), so the map of a one-hot input is the receptive-field weight of each
cell at that pixel, largest for the cell centred on it. Placed on the centre of cell ``i``
(``stride * i`` for a ResNet), the upsampled map must peak on that very pixel; the plain
resize (``align_corners=False``) puts it ``(stride - 1) / 2`` px down and right.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chestx.inference.forward import registration_of
from chestx.localize.heatmaps import upsample_heatmap
from chestx.localize.registration import Registration, upsample_registered
from chestx.models import build_model
from chestx.models.backbones import build_backbone
from chestx.models.receptive_field import (
    cell_centres,
    cell_offset,
    gradient_centroid,
    linearized,
    measure_offset,
    read_offsets,
)


def known_model(size: int) -> torch.nn.Module:
    model = build_model("resnet18", num_classes=14, image_size=256, heatmap_size=size)
    linearized(model)
    with torch.no_grad():
        model.prediction.weight.fill_(1.0)
        model.mean.zero_()
        model.std.fill_(1.0)
    return model


@pytest.mark.parametrize("size", [8, 16, 32])
def test_one_hot_input_peaks_on_its_pixel(size):
    model = known_model(size)
    stride = 256 // size
    cell = (size // 2 - 1, size // 2 + 1)
    pixel = (stride * cell[0], stride * cell[1])  # the centre of that cell, measured: offset 0
    x = torch.zeros(1, 1, 256, 256)
    x[0, 0, pixel[0], pixel[1]] = 1.0
    with torch.no_grad():
        _, heatmaps = model.forward_heatmaps(x)
    heat = heatmaps[0, 0].numpy()
    assert np.unravel_index(np.argmax(heat), heat.shape) == cell
    registration = registration_of(model)
    assert registration == Registration(256, float(stride), 0.0)
    up = upsample_heatmap(heat, (256, 256), registration)
    assert np.unravel_index(np.argmax(up), up.shape) == pixel
    # the plain resize draws it half a cell down and to the right (this was the bug)
    plain = upsample_heatmap(heat, (256, 256))
    shifted = np.unravel_index(np.argmax(plain), plain.shape)
    assert shifted != pixel and abs(shifted[0] - pixel[0] - (stride - 1) / 2) <= 0.5
    # on a stored image twice as large, the same place: pixel p of the input is 2p + 0.5
    up2 = upsample_heatmap(heat, (512, 512), registration)
    peak = np.array(np.unravel_index(np.argmax(up2), up2.shape))
    assert np.all(np.abs(peak - (2 * np.array(pixel) + 0.5)) <= 0.5)


def test_measured_offsets_match_the_table_for_resnet18():
    table = read_offsets()
    for stride in (32, 16):
        assert measure_offset("resnet18", stride) == table[("resnet18", stride)] == 0.0
    assert cell_offset("resnet18", 8) == 0.0


def test_gradient_centroid_of_a_densenet_like_pool_is_half_its_window():
    # a 2 x 2 stride-2 average pool puts output i at input 2 i + 0.5
    pool = torch.nn.AvgPool2d(2, 2)
    rows, cols, k = gradient_centroid(pool, 17 * 2)
    assert (rows - 2 * k, cols - 2 * k) == (0.5, 0.5)
    # a ResNet stem (7x7 stride-2 padded 3, 3x3 max pool stride 2 padded 1): centred, 0
    stem = linearized(torch.nn.Sequential(*list(build_backbone("resnet18").children())[:4]))
    rows, cols, k = gradient_centroid(stem, 4 * 33)
    assert abs(rows - 4 * k) < 1e-3 and abs(cols - 4 * k) < 1e-3


def test_upsample_registered_by_hand():
    heat = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    # cells at input pixels 0 and 4 (stride 4, offset 0) of an 8 px input, drawn at 8 px
    up = upsample_registered(heat, (8, 8), Registration(8, 4.0, 0.0))
    assert up[0, 0] == 0.0 and up[0, 4] == 1.0 and up[4, 0] == 2.0 and up[4, 4] == 3.0
    assert up[0, 2] == pytest.approx(0.5) and up[2, 2] == pytest.approx(1.5)
    assert up[7, 7] == 3.0  # beyond the last centre: the edge cell
    # the tiles placement is the plain resize
    tiles = Registration.tiles(8, 2)
    assert np.allclose(upsample_registered(heat, (8, 8), tiles), upsample_heatmap(heat, (8, 8)))


def test_pooled_plans_put_each_bin_at_its_cells_mean():
    # resnet18 at 512 px gives 16 x 16 at stride 32; S = 8 pools 2 x 2 cells per bin
    assert cell_centres("resnet18", 512, 8) == (512, 64.0, 16.0)
