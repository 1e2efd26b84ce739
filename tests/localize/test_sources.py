"""Heatmap sources: CAM from the forward pass, Grad-CAM / Grad-CAM++ through grad-cam."""

import pytest
import torch

from chestx.localize.sources import HEATMAP_SOURCES, heatmap_source
from chestx.models import build_model


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build_model("resnet18", 4, classes=["a", "b", "c", "d"], image_size=64).eval()


def test_cam_source_is_the_forward_heatmaps(net):
    x = torch.rand(2, 1, 64, 64)
    logits, heatmaps = heatmap_source("cam")(net, x)
    with torch.no_grad():
        ref_logits, ref_maps = net.forward_heatmaps(x)
    torch.testing.assert_close(logits, ref_logits)
    torch.testing.assert_close(heatmaps, ref_maps)


def test_gradcam_matches_its_definition_on_the_backbone_output(net):
    x = torch.rand(2, 1, 64, 64)
    logits, maps = heatmap_source("gradcam")(net, x, classes=[1, 3])
    # independent: d logit_c / d A averaged over space weighs A's channels, then ReLU
    features = net.backbone((x - net.mean) / net.std).detach().requires_grad_(True)
    out = net.prediction(net.pool(net.transition(features)))
    torch.testing.assert_close(logits, out.detach(), rtol=1e-4, atol=1e-5)
    for c in (1, 3):
        (grads,) = torch.autograd.grad(out[:, c].sum(), features, retain_graph=True)
        ref = torch.relu((grads.mean(dim=(2, 3))[:, :, None, None] * features).sum(1))
        torch.testing.assert_close(maps[:, c], ref.detach(), rtol=1e-4, atol=1e-6)
    assert maps[:, [0, 2]].abs().sum() == 0  # classes not asked for: zero maps
    assert all(p.grad is None for p in net.parameters())  # no gradients left behind


def test_gradcampp_differs_from_gradcam_and_is_non_negative(net):
    x = torch.rand(1, 1, 64, 64)
    _, plus = heatmap_source("gradcam++")(net, x)
    _, plain = heatmap_source("gradcam")(net, x)
    assert plus.shape == plain.shape == (1, 4, 2, 2)
    assert (plus >= 0).all() and not torch.allclose(plus, plain)


def test_unknown_source_lists_the_choices():
    assert set(HEATMAP_SOURCES) == {"cam", "gradcam", "gradcam++"}
    with pytest.raises(ValueError, match="cam, gradcam, gradcam"):
        heatmap_source("saliency")
