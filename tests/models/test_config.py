"""The typed model config: stored with a version, older (free-dict) checkpoints still load."""

import dataclasses

import pytest
import torch

from chestx.errors import ChestxError
from chestx.findings import PAPER_8
from chestx.models import (
    MODEL_CONFIG_VERSION,
    ModelConfig,
    build_model,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)


def test_checkpoint_stores_the_config_with_its_version(tmp_path):
    model = build_model("resnet18", num_classes=8, pooling="avg", image_size=64)
    state = read_checkpoint(save_checkpoint(tmp_path / "m.pt", model))
    assert state["config"]["version"] == MODEL_CONFIG_VERSION
    assert state["config"]["classes"] == list(PAPER_8)  # plain types: weights_only loads it
    assert ModelConfig.from_dict(state["config"]) == model.config


def test_a_version_0_checkpoint_still_loads(tmp_path):
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=8, pooling="lse", lse_r=5.0, image_size=64)
    # the free dict chestx wrote before the typed config: duplicate keys, no version
    old = {"backbone": "resnet18", "num_classes": 8, "classes": list(PAPER_8),
           "pooling": "lse", "lse_r": 5.0, "r": 5.0, "image_size": 64, "channels": 1,
           "channel_handling": "repeat", "mean": [0.485, 0.456, 0.406],
           "std": [0.229, 0.224, 0.225], "transition_channels": 512, "heatmap_size": 2,
           "loss": "wce"}
    torch.save({"model_state": model.state_dict(), "config": old, "epoch": 1}, tmp_path / "o.pt")
    loaded = load_checkpoint(tmp_path / "o.pt")
    assert loaded.config == dataclasses.replace(model.config, loss="wce")
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))


def test_oldest_dicts_without_classes_or_lse_r_read_the_duplicates():
    config = ModelConfig.from_dict({"backbone": "resnet18", "num_classes": 8, "r": 3.0,
                                    "image_size": 64})
    assert config.classes == PAPER_8 and config.lse_r == 3.0 and config.num_classes == 8


def test_a_newer_version_is_refused_in_one_line():
    with pytest.raises(ChestxError, match=r"run\.pt: model config version 99 is newer"):
        ModelConfig.from_dict({"version": 99}, "run.pt")
