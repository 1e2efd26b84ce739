"""The training loop: outputs of a run, resume continuity, user errors."""

import math

import pandas as pd
import pytest
import torch

from chestx.errors import ChestxError
from chestx.models import load_checkpoint, read_checkpoint
from chestx.training import train


class Stop(KeyboardInterrupt):
    """Raised from the epoch hook: like a Ctrl-C right after an epoch was saved."""


def test_run_writes_checkpoints_and_metrics(tiny_data, tiny_config, tmp_path):
    result = train(tiny_config(tiny_data, tmp_path / "run", epochs=1, pooling="avg"))
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"best.pt", "last.pt", "metrics.csv"}
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == [1]
    assert {"train_loss", "val_loss", "val_auc", "lr", "auc_Cardiomegaly"} <= set(metrics)
    state = read_checkpoint(run / "last.pt")
    assert state["epoch"] == 1 and state["config"]["loss"] == "wce"
    assert state["config"]["image_size"] == 32 and state["train_config"]["iter_size"] == 2
    model = load_checkpoint(run / "best.pt")
    assert model.config["pooling"] == "avg" and not model.training
    assert result.best_epoch == 1
    assert math.isnan(result.best_auc) or 0 <= result.best_auc <= 1


def _weights(path):
    return read_checkpoint(path)["model_state"]


def test_resume_after_stop_matches_uninterrupted_run(tiny_data, tiny_config, tmp_path):
    straight = tmp_path / "straight"
    train(tiny_config(tiny_data, straight, epochs=2))

    stopped = tmp_path / "stopped"

    def stop_after_first(epoch, row):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(tiny_config(tiny_data, stopped, epochs=2), on_epoch_end=stop_after_first)
    assert read_checkpoint(stopped / "last.pt")["epoch"] == 1
    with pytest.raises(ChestxError, match="--resume"):
        train(tiny_config(tiny_data, stopped, epochs=2))
    train(tiny_config(tiny_data, stopped, epochs=2, resume=True))

    assert read_checkpoint(stopped / "last.pt")["epoch"] == 2
    assert list(pd.read_csv(stopped / "metrics.csv")["epoch"]) == [1, 2]
    expected, got = _weights(straight / "last.pt"), _weights(stopped / "last.pt")
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], msg=name)
    a = read_checkpoint(straight / "last.pt")["optimizer_state"]["state"]
    b = read_checkpoint(stopped / "last.pt")["optimizer_state"]["state"]
    torch.testing.assert_close(b[0]["momentum_buffer"], a[0]["momentum_buffer"])


def test_resume_can_extend_epochs_and_keeps_settings(tiny_data, tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(tiny_data, run, epochs=1, lse_r=5.0))
    # a different --lse-r on resume is ignored: the run's own settings come from last.pt
    train(tiny_config(tiny_data, run, epochs=2, lse_r=8.0, resume=True))
    state = read_checkpoint(run / "last.pt")
    assert state["epoch"] == 2 and state["config"]["lse_r"] == 5.0


def test_bad_options_are_user_errors(tiny_data, tiny_config, tmp_path):
    with pytest.raises(ChestxError, match="--loss"):
        train(tiny_config(tiny_data, tmp_path / "a", loss="focal"))
    with pytest.raises(ChestxError, match="--iter-size"):
        train(tiny_config(tiny_data, tmp_path / "b", iter_size=0))
