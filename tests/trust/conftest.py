"""A tiny phantom dataset (60 images of 64 px) and a run trained on it for one epoch, whose
best.pt carries the trust record fitted at the end of training."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def trust_data(tmp_path_factory) -> Path:
    from chestx.synth.cohort import synthesize

    return synthesize(tmp_path_factory.mktemp("trust") / "data", n=60, size=64, seed=2,
                      workers=1)


@pytest.fixture(scope="session")
def trust_run(trust_data, tmp_path_factory) -> Path:
    from chestx.training import TrainConfig, train

    out = tmp_path_factory.mktemp("trust_run")
    train(TrainConfig(data=str(trust_data), out=str(out), backbone="resnet18", image_size=64,
                      pretrained=False, epochs=1, batch_size=8, iter_size=1, lr=0.01,
                      workers=0, progress=False, split="random"))
    return out / "best.pt"
