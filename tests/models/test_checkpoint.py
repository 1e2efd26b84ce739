"""Checkpoints rebuild the model alone; --weights accepts torchvision and chestx files."""

import zipfile

import pytest
import torch
import torchvision

from chestx.errors import ChestxError
from chestx.models import build_model, load_checkpoint, read_checkpoint, save_checkpoint

REQUIRED = {"model_state", "config", "epoch", "optimizer_state", "metrics", "chestx_version"}


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=8, pooling="lse", lse_r=8.0, image_size=64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = save_checkpoint(tmp_path / "run" / "best.pt", model, epoch=3, optimizer=optimizer,
                           metrics=[{"epoch": 1, "val_auc": 0.5}])
    state = read_checkpoint(path)
    assert REQUIRED <= set(state)
    assert state["epoch"] == 3 and state["config"]["lse_r"] == 8.0
    loaded = load_checkpoint(path)
    assert not loaded.training
    assert loaded.config.pooling == "lse" and list(loaded.config.classes) == model.classes
    x = torch.rand(2, 1, 64, 64)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert not list(tmp_path.joinpath("run").glob(".*"))  # no temp files left


def test_checkpoints_are_written_without_checksums_and_the_setting_is_restored(tmp_path):
    model = build_model("resnet18", num_classes=2, image_size=32)
    before = torch.serialization.get_crc32_options()
    path = save_checkpoint(tmp_path / "last.pt", model)
    assert torch.serialization.get_crc32_options() == before
    with zipfile.ZipFile(path) as archive:  # the zip records carry CRC 0
        assert {info.CRC for info in archive.infolist() if info.file_size} == {0}
    assert len(load_checkpoint(path).classes) == 2


def test_bad_checkpoints_are_user_errors(tmp_path):
    with pytest.raises(ChestxError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ChestxError, match="junk.pt"):
        load_checkpoint(junk)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ChestxError, match="not a chestx checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_weights_from_torchvision_state_dict(tmp_path):
    torch.manual_seed(2)
    net = torchvision.models.resnet18(weights=None)
    torch.save(net.state_dict(), tmp_path / "resnet18.pth")
    model = build_model("resnet18", num_classes=8, image_size=64,
                        weights=str(tmp_path / "resnet18.pth"))
    torch.testing.assert_close(model.backbone.conv1.weight, net.conv1.weight)
    torch.testing.assert_close(model.backbone.layer4[1].bn2.running_var,
                               net.layer4[1].bn2.running_var)
    with pytest.raises(ChestxError, match="not a torchvision state dict of alexnet"):
        build_model("alexnet", image_size=64, weights=str(tmp_path / "resnet18.pth"))


def test_weights_from_chestx_checkpoint_with_other_classes(tmp_path):
    source = build_model("resnet18", num_classes=14, image_size=64)
    save_checkpoint(tmp_path / "c14.pt", source)
    target = build_model("resnet18", num_classes=8, image_size=64,
                         weights=str(tmp_path / "c14.pt"))
    torch.testing.assert_close(target.backbone.conv1.weight, source.backbone.conv1.weight)
    torch.testing.assert_close(target.transition.conv.weight, source.transition.conv.weight)
    assert target.prediction.weight.shape == (8, 512)  # head kept: shapes differ


@pytest.mark.parametrize(("name", "size", "aux", "probe"), [
    ("googlenet", 64, ("aux1.", "aux2."), "inception5b.branch1.conv.weight"),
    ("inception_v3", 80, ("AuxLogits.",), "Mixed_7c.branch_pool.conv.weight"),
])
def test_weights_from_torchvision_network_with_aux_heads(tmp_path, name, size, aux, probe):
    """torchvision's ImageNet files of GoogLeNet / Inception-v3 carry auxiliary heads."""
    torch.manual_seed(3)
    net = torchvision.models.get_model(name, weights=None, aux_logits=True, init_weights=True)
    state = net.state_dict()
    assert any(k.startswith(aux) for k in state)  # the file really has the aux heads
    torch.save(state, tmp_path / f"{name}.pth")
    model = build_model(name, num_classes=8, image_size=size, weights=str(tmp_path / f"{name}.pth"))
    own = model.backbone.state_dict()
    assert not any(k.startswith(aux) for k in own)
    torch.testing.assert_close(own[probe], state[probe])
    bn = probe.replace("conv.weight", "bn.running_var")
    torch.testing.assert_close(own[bn], state[bn])
