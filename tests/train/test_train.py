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
    # from scratch the recipe's loss is plain cross-entropy (the paper's W-CEL: --recipe paper)
    assert state["epoch"] == 1 and state["config"]["loss"] == "ce"
    assert state["recipe"]["name"] == "scratch"
    assert state["config"]["image_size"] == 32 and state["train_config"]["iter_size"] == 2
    model = load_checkpoint(run / "best.pt")
    assert model.config.pooling == "avg" and not model.training
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
    with pytest.raises(ChestxError, match="a run is already there") as info:
        train(tiny_config(tiny_data, stopped, epochs=2))
    assert info.value.remedies == {"resume": True, "out": None}
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
    with pytest.raises(ChestxError, match="^loss 'focal'"):
        train(tiny_config(tiny_data, tmp_path / "a", loss="focal"))
    with pytest.raises(ChestxError, match="^iter_size must be >= 1") as info:
        train(tiny_config(tiny_data, tmp_path / "b", iter_size=0))
    assert info.value.remedies == {"iter_size": None}
    with pytest.raises(ChestxError, match="^optimizer must be one of"):
        train(tiny_config(tiny_data, tmp_path / "c", optimizer="lbfgs"))


def test_adamw_run_stores_adam_state_and_resumes(tiny_data, tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(tiny_data, run, epochs=1, optimizer="adamw", pooling="avg"))
    state = read_checkpoint(run / "last.pt")["optimizer_state"]["state"]
    # Adam keeps first and second moments; SGD would keep a momentum buffer only
    assert {"exp_avg", "exp_avg_sq"} <= set(state[0])
    # best.pt is the model to use, resuming reads last.pt: no optimizer state there
    assert read_checkpoint(run / "best.pt")["optimizer_state"] is None
    result = train(tiny_config(tiny_data, run, epochs=2, resume=True))
    assert result.epochs == 2
    assert read_checkpoint(run / "last.pt")["train_config"]["optimizer"] == "adamw"


def test_weights_start_does_not_download(tiny_data, tiny_config, tmp_path, monkeypatch):
    import chestx.models.backbones as backbones

    train(tiny_config(tiny_data, tmp_path / "first", epochs=1, pooling="avg"))
    original = backbones.torchvision_network
    asked = []

    def network(name, pretrained=False):
        asked.append(pretrained)
        if pretrained:
            raise AssertionError("tried to download ImageNet weights")
        return original(name, pretrained)

    monkeypatch.setattr(backbones, "torchvision_network", network)
    # --pretrained is the default; a --weights start must not reach for the download
    train(tiny_config(tiny_data, tmp_path / "second", epochs=1, pooling="avg", pretrained=True,
                      weights=str(tmp_path / "first" / "best.pt")))
    assert asked and not any(asked)


def test_half_resolution_matches_pillow_antialiased_resize():
    import numpy as np
    from PIL import Image

    from chestx.training.loop import half_resolution

    pixels = np.random.default_rng(0).random((8, 8), dtype=np.float32)
    half = half_resolution(torch.from_numpy(pixels).view(1, 1, 8, 8))
    assert half.shape == (1, 1, 4, 4)
    # Pillow's bilinear resize filters (antialiases) like the cache's resize does
    expected = np.asarray(Image.fromarray(pixels, mode="F").resize((4, 4), Image.BILINEAR))
    np.testing.assert_allclose(half[0, 0].numpy(), expected, atol=1e-5)
    # a constant image stays constant
    torch.testing.assert_close(half_resolution(torch.full((1, 1, 8, 8), 0.25)),
                               torch.full((1, 1, 4, 4), 0.25))


def test_half_res_epochs_train_small_then_full(tiny_data, tiny_config, tmp_path, monkeypatch):
    import chestx.training.loop as loop

    sizes: list[tuple[int, int]] = []
    original = loop.half_resolution

    def recording(images):
        out = original(images)
        sizes.append((images.shape[-1], out.shape[-1]))
        return out

    monkeypatch.setattr(loop, "half_resolution", recording)
    epochs_seen = []
    train(tiny_config(tiny_data, tmp_path / "run", epochs=2, half_res_epochs=1, pooling="avg"),
          on_epoch_end=lambda epoch, row: epochs_seen.append((epoch, len(sizes))))
    # every batch of epoch 1 went 32 -> 16 px, none of epoch 2
    assert sizes and set(sizes) == {(32, 16)}
    assert epochs_seen[0][1] == epochs_seen[1][1] == len(sizes)
    with pytest.raises(ChestxError, match="half_res_epochs must be"):
        train(tiny_config(tiny_data, tmp_path / "bad", epochs=2, half_res_epochs=2))


def test_cosine_restarts_when_training_switches_to_full_size(tiny_config, tmp_path):
    from chestx.training.loop import _lr

    plain = tiny_config(tmp_path, tmp_path / "a", lr=1.0, epochs=4)
    assert [_lr(plain, step, 40) for step in (0, 20, 40)] == pytest.approx([1.0, 0.5, 0.0])
    # 2 of 4 epochs at half size: one cosine cycle per phase, full lr again at the switch
    phased = tiny_config(tmp_path, tmp_path / "b", lr=1.0, epochs=4, half_res_epochs=2)
    assert [_lr(phased, step, 40) for step in (0, 10, 20, 30, 40)] == pytest.approx(
        [1.0, 0.5, 1.0, 0.5, 0.0])
    constant = tiny_config(tmp_path, tmp_path / "c", lr=0.3, schedule="constant")
    assert _lr(constant, 17, 40) == 0.3


def test_resume_removes_temp_files_of_a_killed_run(tiny_data, tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(tiny_data, run, epochs=1, pooling="avg"))
    stale = [run / ".metrics.k1l2.csv", run / ".last.k1l2.pt"]  # as a SIGKILL leaves them
    for path in stale:
        path.write_text("half-written")
    train(tiny_config(tiny_data, run, epochs=2, resume=True))
    assert not [p for p in run.iterdir() if p.name.startswith(".")]
