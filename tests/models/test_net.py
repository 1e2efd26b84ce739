"""ChestXNet: shapes, S per backbone, CAM identity, normalization, pretrained offline."""

import urllib.error

import pytest
import torch

from chestx.errors import ChestxError
from chestx.models import BACKBONES, build_model, feature_size

#: S (heatmap side) at 224 / 256 / 512 / 1024 px, as documented in chestx.models.backbones.
DOCUMENTED_S = {
    "alexnet": (6, 7, 15, 31),
    "googlenet": (7, 8, 16, 32),
    "vgg16": (7, 8, 16, 32),
    "resnet50": (7, 8, 16, 32),
    "resnet18": (7, 8, 16, 32),
    "densenet121": (7, 8, 16, 32),
}
DOCUMENTED_D = {"alexnet": 256, "googlenet": 1024, "vgg16": 512, "resnet50": 2048,
                "resnet18": 512, "densenet121": 1024}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_S))
def test_backbone_heatmap_side_per_input_size(name):
    assert name in BACKBONES
    for size, side in zip((224, 256, 512, 1024), DOCUMENTED_S[name], strict=True):
        assert feature_size(name, size) == (DOCUMENTED_D[name], side)
    # the whole network on the meta device (shapes only): logits and heatmaps at 1024 px
    with torch.device("meta"):
        model = build_model(name, num_classes=8, image_size=1024)
        logits, heatmaps = model.forward_heatmaps(torch.empty(2, 1, 1024, 1024))
    assert tuple(logits.shape) == (2, 8)
    assert tuple(heatmaps.shape) == (2, 8, DOCUMENTED_S[name][3], DOCUMENTED_S[name][3])
    assert model.config.heatmap_size == DOCUMENTED_S[name][3]


@pytest.mark.parametrize("name", ["resnet18", "alexnet"])
def test_real_backbones_run_on_tiny_images(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=14, pooling="lse", image_size=64).eval()
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(x)
        assert torch.equal(logits, model(x))
    side = feature_size(name, 64)[1]
    assert tuple(heatmaps.shape) == (2, 14, side, side)
    assert model.config.classes[0] == "Atelectasis" and len(model.config.classes) == 14


def test_cam_identity_avg_pooled_heatmaps_plus_bias_equal_logits():
    torch.manual_seed(1)
    model = build_model("resnet18", num_classes=8, pooling="avg", image_size=64).eval()
    x = torch.rand(3, 1, 64, 64)
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(x)
    torch.testing.assert_close(heatmaps.mean(dim=(2, 3)) + model.prediction.bias, logits,
                               rtol=1e-5, atol=1e-5)
    # and the heatmaps are W @ transition activations, computed independently
    with torch.no_grad():
        acts = model.transition_activations(x)
    expected = torch.einsum("ndhw,cd->nchw", acts, model.prediction.weight)
    torch.testing.assert_close(heatmaps, expected, rtol=1e-5, atol=1e-5)


def test_lse_logits_are_prediction_of_lse_pooled_activations():
    model = build_model("resnet18", num_classes=8, pooling="lse", lse_r=10.0,
                        image_size=64).eval()
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        acts = model.transition_activations(x)
        flat = acts.double().flatten(2)
        pooled = torch.log(torch.exp(10.0 * flat).mean(2)) / 10.0  # Eq. 2
        expected = pooled @ model.prediction.weight.double().T + model.prediction.bias.double()
        torch.testing.assert_close(model(x).double(), expected, rtol=1e-4, atol=1e-4)
    assert (acts >= 0).all()  # transition has a ReLU


def test_gray_input_is_repeated_and_normalized_per_channel():
    model = build_model("resnet18", num_classes=8, image_size=64).eval()
    gray = torch.rand(2, 1, 64, 64)
    rgb = gray.repeat(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.allclose(model(gray), model(rgb), atol=1e-6)
        seen = []
        handle = model.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
        model(gray)
        handle.remove()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(seen[0], (rgb - mean) / std)
    googlenet = build_model("googlenet", num_classes=8, image_size=64)
    assert googlenet.config.mean == (0.5, 0.5, 0.5)


def test_config_records_everything_needed():
    model = build_model("resnet18", num_classes=8, pooling="max", lse_r=5.0, image_size=256)
    cfg = model.config
    assert cfg.backbone == "resnet18" and cfg.pooling == "max" and cfg.lse_r == 5.0
    assert cfg.image_size == 256 and cfg.heatmap_size == 8 and cfg.channels == 1
    assert len(cfg.classes) == 8 and cfg.transition_channels == 512


def test_unknown_backbone_is_a_user_error():
    with pytest.raises(ChestxError, match="unknown backbone"):
        build_model("resnet5000")


def test_pretrained_offline_fails_with_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached weights

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", no_network)
    with pytest.raises(ChestxError) as info:
        build_model("resnet18", pretrained=True, image_size=64)
    message = str(info.value)
    assert "\n" not in message
    assert "could not download" in message and "local file" in message
    assert "without pretrained weights" in message and "--" not in message  # values, not flags


def test_resnet_from_scratch_is_initialized_as_torchvision_builds_it():
    import torchvision

    from chestx.models.backbones import build_backbone

    torch.manual_seed(3)
    backbone = build_backbone("resnet18", pretrained=False)
    torch.manual_seed(3)
    reference = torchvision.models.resnet18().state_dict()
    ours = backbone.state_dict()
    assert set(ours) == {k for k in reference if not k.startswith("fc.")}
    assert all(torch.equal(ours[k], reference[k]) for k in ours)
    # every residual block's last BN starts at scale 1, not 0 (no zero_init_residual)
    last_norms = [block.bn2 for layer in (backbone[4], backbone[5], backbone[6], backbone[7])
                  for block in layer]
    assert all(torch.all(norm.weight == 1) for norm in last_norms)
