"""Heatmap size S: the documented stride/pooling table, dilation, ImageNet weights, CAM."""

import re

import pytest
import torch
import torchvision

from chestx.errors import ChestxError
from chestx.models import BACKBONES, build_model, load_checkpoint, save_checkpoint
from chestx.models import backbones as backbones_module
from chestx.models.backbones import backbone_family, build_backbone, heatmap_plan

SIZES = (224, 256, 512, 1024)


def documented_table() -> dict[tuple[str, int], tuple[str, ...]]:
    """The rows of the table in chestx.models.backbones' docstring: (row, S) -> entries."""
    rows = {}
    for line in backbones_module.__doc__.splitlines():
        match = re.match(r"^([a-z_0-9]+)\s+(8|16|32)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", line)
        if match:
            rows[(match[1], int(match[2]))] = match.groups()[2:]
    return rows


def planned(name: str, size: int, heatmap_size: int) -> str:
    try:
        plan = heatmap_plan(name, size, heatmap_size)
    except ChestxError:
        return "-"
    return f"{plan.stride}/{plan.side}" + (f"->{plan.size}" if plan.pooled else "")


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_reaches_the_documented_heatmap_size(name):
    table = documented_table()
    row = backbone_family(name) or name
    for heatmap_size in (8, 16, 32):
        documented = table[(row, heatmap_size)]
        got = tuple(planned(name, size, heatmap_size) for size in SIZES)
        assert got == documented, (name, heatmap_size)


@pytest.mark.parametrize("name", ["resnet18", "vgg16", "googlenet"])
def test_whole_model_gives_s_by_s_heatmaps(name):
    # every documented entry, through the whole network (meta device: shapes only)
    table = documented_table()
    for heatmap_size in (8, 16, 32):
        for size, entry in zip(SIZES, table[(backbone_family(name) or name, heatmap_size)],
                               strict=True):
            if entry == "-":
                with pytest.raises(ChestxError, match="heatmap size"):
                    build_model(name, 8, image_size=size, heatmap_size=heatmap_size)
                continue
            with torch.device("meta"):
                model = build_model(name, 8, image_size=size, heatmap_size=heatmap_size)
                _, heatmaps = model.forward_heatmaps(torch.empty(1, 1, size, size))
            assert tuple(heatmaps.shape) == (1, 8, heatmap_size, heatmap_size)
            assert model.config.heatmap_size == heatmap_size
            assert model.config.output_stride == int(entry.split("/")[0])


def test_refusals_are_one_line_errors():
    with pytest.raises(ChestxError, match="use one of 8, 16, 32"):
        heatmap_plan("resnet18", 256, 12)
    with pytest.raises(ChestxError, match="at least 256 px"):
        heatmap_plan("resnet18", 224, 32)
    with pytest.raises(ChestxError, match="cannot be dilated"):
        heatmap_plan("alexnet", 256, 16)


@pytest.mark.parametrize("name", ["resnet18", "densenet121"])
def test_imagenet_state_dict_loads_into_dilated_backbone(tmp_path, name):
    torch.manual_seed(0)
    network = torchvision.models.get_model(name, weights=None).eval()
    path = tmp_path / f"{name}-imagenet.pth"
    torch.save(network.state_dict(), path)
    model = build_model(name, 14, image_size=128, heatmap_size=16, weights=str(path)).eval()
    assert model.config.output_stride == 8
    conv = model.backbone.layer4[1].conv1 if name == "resnet18" else None
    if conv is not None:
        assert conv.dilation == (4, 4) and conv.stride == (1, 1)
    # the ImageNet features are unchanged where the strided network has them ("a trous")
    undilated = build_backbone(name).eval()
    undilated.load_state_dict(model.backbone.state_dict())
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        dense, coarse = model.backbone(x), undilated(x)
    assert dense.shape[-1] == 4 * coarse.shape[-1] == 16
    torch.testing.assert_close(dense[..., ::4, ::4], coarse, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("size", "heatmap_size"), [(256, 8), (256, 16), (256, 32), (224, 8)])
def test_cam_identity_at_every_s(size, heatmap_size):
    torch.manual_seed(2)
    model = build_model("resnet18", 8, pooling="avg", image_size=size,
                        heatmap_size=heatmap_size).eval()
    x = torch.rand(1, 1, size, size)
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(x)
    assert heatmaps.shape[-1] == heatmap_size
    torch.testing.assert_close(heatmaps.mean(dim=(2, 3)) + model.prediction.bias, logits,
                               rtol=1e-4, atol=1e-5)


def test_checkpoint_rebuilt_at_another_heatmap_size(tmp_path):

    torch.manual_seed(3)
    model = build_model("resnet18", 8, image_size=128).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    assert load_checkpoint(tmp_path / "m.pt").config.heatmap_size == 4
    finer = load_checkpoint(tmp_path / "m.pt", heatmap_size=16)
    assert finer.config.heatmap_size == 16 and finer.config.output_stride == 8
    x = torch.rand(1, 1, 128, 128)
    with torch.no_grad():
        coarse_maps = model.forward_heatmaps(x)[1]
        fine_maps = finer.forward_heatmaps(x)[1]
    # same weights: the stride-32 heatmap cells are every 4th cell of the stride-8 one
    torch.testing.assert_close(fine_maps[..., ::4, ::4], coarse_maps, rtol=1e-4, atol=1e-4)


def test_finest_heatmap_size_without_pooling():
    from chestx.models.checkpoint import finest_heatmap_size

    def finest(name, size):
        with torch.device("meta"):
            return finest_heatmap_size(build_model(name, 8, image_size=size))

    # 256 px: stride 8 gives 32; 512 px: stride 16; 224 px: only pooled sides, so its own 7;
    # alexnet cannot be dilated: its own 31 at 1024 px
    assert finest("resnet18", 256) == 32 and finest("resnet18", 512) == 32
    assert finest("resnet18", 224) == 7 and finest("alexnet", 1024) == 31
