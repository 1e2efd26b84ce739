"""Fixtures for the web app: a tiny random ResNet-18 checkpoint, images, a live server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from serve_fixtures import CHROMIUM, CHROMIUM_ARGS, live

from chestx.data.tensors import to_tensor
from chestx.models import build_model, load_checkpoint, save_checkpoint

IMAGE_SIZE = 64
METRICS = [{"epoch": 1, "val_auc": 0.55, "val_loss": 0.9},
           {"epoch": 2, "val_auc": 0.52, "val_loss": 0.8}]
TRAIN_CONFIG = {"data": "/data/nih_demo", "split": "official", "epochs": 2, "seed": 0,
                "max_train_images": 40, "loss": "wce", "out": "/runs/x", "workers": 2}


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A random-init ResNet-18 ChestXNet at 64 px, saved like a training run's best.pt."""
    torch.manual_seed(0)
    model = build_model("resnet18", image_size=IMAGE_SIZE)
    path = tmp_path_factory.mktemp("run") / "best.pt"
    return save_checkpoint(path, model, epoch=2, metrics=METRICS, train_config=TRAIN_CONFIG,
                           best_auc=0.55, best_epoch=1)


@pytest.fixture(scope="session")
def reference_model(checkpoint):
    """The same network loaded independently, to compute expected outputs directly."""
    return load_checkpoint(checkpoint)


def reference_outputs(model, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(C,)`` and heatmaps ``(C, S, S)`` straight from the network."""
    with torch.no_grad():
        logits, heatmaps = model.forward_heatmaps(to_tensor(gray, IMAGE_SIZE)[None])
    return torch.sigmoid(logits)[0].numpy(), heatmaps[0].numpy()


def random_gray(seed: int, shape: tuple[int, int] = (96, 80)) -> np.ndarray:
    """A smooth random ``uint8`` image spanning 0..255 (so min-max stretching is identity)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((6, 5))
    image = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float64)
    image += rng.normal(0, 12, shape)
    image = (image - image.min()) / (image.max() - image.min()) * 255.0
    return np.round(image).astype(np.uint8)


def png_bytes(gray: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def app(checkpoint):
    from chestx.serve import load_app

    return load_app(checkpoint, max_upload_mb=1)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(app):
    """The app under uvicorn on 127.0.0.1 and a free port (in a thread); yields its URL."""
    with live(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium under Playwright (the module skips without it)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def captured(monkeypatch):
    """Replace uvicorn.run by a recorder: a serving command's options without a server."""
    import chestx.serve

    calls = []
    monkeypatch.setattr(chestx.serve, "run_server",
                        lambda app, host, port: calls.append((app, host, port)))
    return calls


@pytest.fixture(scope="session")
def make_gray():
    """``make_gray(seed, shape=(96, 80))`` -> a random ``uint8`` image (see random_gray)."""
    return random_gray


@pytest.fixture(scope="session")
def encode_png():
    return png_bytes


@pytest.fixture(scope="session")
def reference(reference_model):
    """``reference(gray)`` -> (probabilities (C,), heatmaps (C, S, S)) from the network."""
    return lambda gray: reference_outputs(reference_model, gray)


@pytest.fixture(scope="session")
def reference_many(reference_model):
    """``reference_many(grays)`` -> probabilities ``(N, C)`` in one forward pass."""
    def _run(grays):
        batch = torch.stack([to_tensor(gray, IMAGE_SIZE) for gray in grays])
        with torch.no_grad():
            return torch.sigmoid(reference_model(batch)).numpy()
    return _run
