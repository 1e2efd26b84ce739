"""A tiny phantom dataset (48 images of 32 px) shared by the training tests."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    from chestx.synth.cohort import synthesize

    return synthesize(tmp_path_factory.mktemp("tiny") / "data", n=48, size=32, seed=1, workers=1)


def make_config(data: Path, out: Path, **overrides):
    """Fast settings: resnet18 from scratch at 32 px, batches of 8, no progress bars."""
    from chestx.training import TrainConfig

    settings = dict(data=str(data), out=str(out), backbone="resnet18", image_size=32,
                    pretrained=False, epochs=2, batch_size=8, iter_size=2, lr=0.01, workers=0,
                    progress=False, split="random")
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture
def tiny_config():
    """``tiny_config(data, out, **overrides)`` -> a fast TrainConfig."""
    return make_config
