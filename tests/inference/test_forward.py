"""Batch localization: model + images -> probabilities, heatmaps, boxes in image pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chestx.inference.forward import Prediction, localize_images
from chestx.localize.geometry import box_iobb


def test_boxes_land_on_the_bright_blob_in_original_pixels(brightness_net, make_blob):
    # a wide 128 x 256 image, squeezed to 64 x 64 for the model: the box must come back in
    # the original pixels, on the blob at x 128..192, y 32..64
    blob = (128, 32, 64, 32)
    gray = make_blob((128, 256), blob)
    (loc,) = localize_images(brightness_net, [gray], method="peak")
    assert isinstance(loc, Prediction) and loc.image_size == (128, 256)
    assert loc.probability("Mass") > 0.9 and loc.probability("Nodule") < 0.01
    assert {b.finding for b in loc.boxes} == {"Mass"}  # Nodule is below the 0.5 threshold
    best = max(loc.boxes, key=lambda b: b.score)
    assert box_iobb(np.array([best.xywh]), np.array([blob]))[0, 0] > 0.9
    for method in ("paper", "peak"):
        (loc,) = localize_images(brightness_net, [gray], method=method)
        for box in loc.boxes:
            assert 0 <= box.x and box.x + box.w <= 256 and 0 <= box.y and box.y + box.h <= 128


def test_probabilities_and_heatmaps_are_the_models(brightness_net, make_blob):
    gray = make_blob((64, 64), (8, 8, 16, 16))
    (loc,) = localize_images(brightness_net, [gray])
    x = torch.from_numpy(gray).float().div(255)[None, None]
    logits, heatmaps = brightness_net.forward_heatmaps(x)
    assert np.allclose(loc.probabilities, torch.sigmoid(logits)[0].numpy(), atol=1e-6)
    assert np.allclose(loc.heatmaps, heatmaps[0].numpy(), atol=1e-6)
    assert loc.heatmaps.shape == (2, 8, 8)
    up = loc.heatmap("Mass")
    assert up.shape == (64, 64) and up.min() == 0 and up.max() == pytest.approx(1)
    row, col = np.unravel_index(np.argmax(up), up.shape)
    assert 8 <= row < 24 and 8 <= col < 24


def test_which_findings_are_boxed(brightness_net, make_blob):
    images = [make_blob((64, 64), (0, 0, 16, 16)), make_blob((64, 64), (40, 40, 16, 16))]
    by_threshold = localize_images(brightness_net, images, threshold=0.0, method="paper")
    assert all({b.finding for b in loc.boxes} == {"Mass", "Nodule"} for loc in by_threshold)
    # Nodule heat is the negative image: its maximum is the flat background itself, so it
    # rises nowhere above the median and the peak generator finds nothing to box
    by_peak = localize_images(brightness_net, images, threshold=0.0, method="peak")
    assert all({b.finding for b in loc.boxes} == {"Mass"} for loc in by_peak)
    named = localize_images(brightness_net, images, findings=["Nodule"], method="paper")
    assert all({b.finding for b in loc.boxes} == {"Nodule"} for loc in named)
    per_image = localize_images(brightness_net, images, findings=[["Mass"], []])
    assert {b.finding for b in per_image[0].boxes} == {"Mass"} and per_image[1].boxes == ()
    none = localize_images(brightness_net, images, findings=[])
    assert all(loc.boxes == () for loc in none)
    unknown = localize_images(brightness_net, images, findings=["Hernia"])
    assert all(loc.boxes == () for loc in unknown)
    with pytest.raises(ValueError, match="3 finding lists for 2 images"):
        localize_images(brightness_net, images, findings=[["Mass"], ["Mass"], ["Mass"]])


def test_batching_does_not_change_results(brightness_net, make_blob):
    images = [make_blob((64, 80), (i * 8, i * 4, 16, 16)) for i in range(5)]
    one = localize_images(brightness_net, images, batch_size=5)
    two = localize_images(brightness_net, images, batch_size=2)
    for a, b in zip(one, two, strict=True):
        assert a.boxes == b.boxes
        assert np.allclose(a.probabilities, b.probabilities)


def test_real_chestxnet_heatmaps_match_its_forward(tiny_checkpoint):
    from chestx.data.tensors import to_tensor
    from chestx.models import load_checkpoint

    model = load_checkpoint(tiny_checkpoint)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (48, 40), dtype=np.uint8) for _ in range(2)]
    locs = localize_images(model, images, findings=["Cardiomegaly", "Effusion"], method="paper")
    with torch.inference_mode():
        logits, heatmaps = model.forward_heatmaps(torch.stack([to_tensor(g, 64) for g in images]))
    for i, loc in enumerate(locs):
        assert loc.classes == tuple(model.config.classes) and len(loc.classes) == 14
        assert np.allclose(loc.heatmaps, heatmaps[i].numpy(), atol=1e-5)
        assert np.allclose(loc.probabilities, torch.sigmoid(logits[i]).numpy(), atol=1e-6)
        assert {b.finding for b in loc.boxes} == {"Cardiomegaly", "Effusion"}
        assert all(0 <= b.x and b.x + b.w <= 40 and b.y + b.h <= 48 for b in loc.boxes)
