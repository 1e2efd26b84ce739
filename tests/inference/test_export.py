"""``chestx export``: ONNX (run with onnxruntime) and TorchScript reproduce PyTorch to 1e-4."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from chestx.cli import main
from chestx.findings import FINDINGS
from chestx.inference.export import load_torchscript, read_onnx_config
from chestx.models import build_model, load_checkpoint, save_checkpoint

SIZE = 64


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random ResNet-18 checkpoint exported to both formats through the CLI."""
    folder = tmp_path_factory.mktemp("export")
    torch.manual_seed(2)
    checkpoint = save_checkpoint(folder / "best.pt", build_model("resnet18", image_size=SIZE))
    paths = {"onnx": folder / "model.onnx", "torchscript": folder / "model.pt"}
    for fmt, path in paths.items():
        assert main(["export", "--checkpoint", str(checkpoint), "--format", fmt,
                     "--out", str(path)]) == 0
    return load_checkpoint(checkpoint), checkpoint, paths


def _batch(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _expected(model, images):
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(images)
    return logits.numpy(), heatmaps.numpy()


def test_onnx_matches_pytorch(exported):
    model, _, paths = exported
    session = ort.InferenceSession(str(paths["onnx"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["logits", "heatmaps"]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # dynamic batch axis
    for n, seed in [(3, 0), (1, 1)]:
        images = _batch(n, seed)
        logits, heatmaps = session.run(None, {"images": images.numpy()})
        want_logits, want_heatmaps = _expected(model, images)
        assert logits.shape == (n, 14) and heatmaps.shape == want_heatmaps.shape
        np.testing.assert_allclose(logits, want_logits, atol=1e-4, rtol=0)
        np.testing.assert_allclose(heatmaps, want_heatmaps, atol=1e-4, rtol=0)
    config = read_onnx_config(paths["onnx"])
    assert config["classes"] == list(FINDINGS) and config["image_size"] == SIZE
    onnx.checker.check_model(onnx.load(str(paths["onnx"])))


def test_torchscript_matches_pytorch(exported):
    model, _, paths = exported
    module, config = load_torchscript(paths["torchscript"])
    assert config["backbone"] == "resnet18" and config["classes"] == list(FINDINGS)
    for n, seed in [(2, 2), (5, 3)]:
        images = _batch(n, seed)
        with torch.no_grad():
            logits, heatmaps = module(images)
        want_logits, want_heatmaps = _expected(model, images)
        np.testing.assert_allclose(logits.numpy(), want_logits, atol=1e-4, rtol=0)
        np.testing.assert_allclose(heatmaps.numpy(), want_heatmaps, atol=1e-4, rtol=0)


def test_export_needs_a_raw_image_not_a_normalized_one(exported):
    """The graph normalizes by itself: feeding it ImageNet-normalized input changes outputs."""
    model, _, paths = exported
    session = ort.InferenceSession(str(paths["onnx"]), providers=["CPUExecutionProvider"])
    images = _batch(2, 4)
    raw = session.run(None, {"images": images.numpy()})[0]
    mean, std = model.config.mean[0], model.config.std[0]
    normalized = session.run(None, {"images": ((images - mean) / std).numpy()})[0]
    assert np.abs(raw - normalized).max() > 1e-3


def test_cli_errors(run_cli, exported, tmp_path):
    _, checkpoint, _ = exported
    code, _, err = run_cli("export", "--checkpoint", checkpoint, "--format", "keras",
                           "--out", tmp_path / "m.h5")
    assert code == 2 and "keras" in err and "onnx" in err
    code, _, err = run_cli("export", "--checkpoint", tmp_path / "missing.pt", "--format",
                           "onnx", "--out", tmp_path / "m.onnx")
    assert code == 2 and "missing.pt" in err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.h5").exists()
