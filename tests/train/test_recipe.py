"""Training recipes: the learning-rate rule, warm-up, the too-few-steps warning, explicit
options winning, --recipe paper, and the recipe kept across --resume."""

import math

import pytest
import torch

from chestx.errors import ChestxError
from chestx.models import read_checkpoint
from chestx.training import TrainConfig, train
from chestx.training.loop import resolve_config
from chestx.training.recipe import (
    MIN_STEPS,
    learning_rate,
    load_recipes,
    too_few_steps,
    warmup_steps,
)


def _bare(**overrides) -> TrainConfig:
    return TrainConfig(data="d", out="o", **overrides)


def test_lr_scales_linearly_with_batch_times_iter_times_processes():
    scratch = dict(pretrained=False)
    base, _ = resolve_config(_bare(**scratch))
    assert (base.batch_size, base.iter_size, base.lr) == (16, 1, pytest.approx(0.01))
    doubled, _ = resolve_config(_bare(iter_size=2, **scratch))
    assert doubled.lr == pytest.approx(0.02)  # 32 images per step
    small, _ = resolve_config(_bare(batch_size=4, **scratch))
    assert small.lr == pytest.approx(0.0025)
    ddp, record = resolve_config(_bare(batch_size=8, iter_size=2, **scratch), world_size=4)
    assert ddp.lr == pytest.approx(0.01 * 64 / 16) and record["images_per_step"] == 64
    given, record = resolve_config(_bare(lr=0.3, iter_size=5, **scratch), world_size=2)
    assert given.lr == 0.3 and "lr" in record["given"]  # an explicit --lr is taken as it is


def test_recipe_follows_how_the_backbone_starts(tmp_path):
    assert resolve_config(_bare(pretrained=False))[0].recipe == "scratch"
    imagenet, _ = resolve_config(_bare())
    assert imagenet.recipe == "imagenet" and imagenet.lr == pytest.approx(0.005)
    assert imagenet.augment is True
    scratch = resolve_config(_bare(pretrained=False))[0]
    assert scratch.augment is False
    # from scratch the rate stays at its peak: a cosine decayed it before 10 epochs had learned
    assert (scratch.schedule, scratch.warmup_epochs) == ("constant", 0.0)


def test_paper_recipe_is_section_four():
    paper, record = resolve_config(_bare(recipe="paper", pretrained=False))
    assert (paper.optimizer, paper.batch_size, paper.iter_size) == ("sgd", 8, 10)
    assert paper.lr == pytest.approx(0.001)  # 0.001 at batch x iter = 80
    assert (paper.loss, paper.pooling, paper.lse_r, paper.image_size) == ("wce", "lse", 10.0,
                                                                          1024)
    assert paper.warmup_epochs == 0 and record["name"] == "paper" and record["given"] == []
    # explicit options still win over the paper's values
    mine, record = resolve_config(_bare(recipe="paper", image_size=256, loss="ce"))
    assert (mine.image_size, mine.loss, mine.iter_size) == (256, "ce", 10)
    assert record["given"] == ["image_size", "loss"]
    with pytest.raises(ChestxError, match="^recipe must be one of") as info:
        resolve_config(_bare(recipe="fast"))
    assert info.value.remedies == {"recipe": None}


def test_warmup_is_linear_then_cosine():
    # 4 warm-up steps of 40: base/4, base/2, 3 base/4, base; then cosine over 36 steps
    assert [learning_rate(1.0, s, 40, 4) for s in range(5)] == pytest.approx(
        [0.25, 0.5, 0.75, 1.0, 1.0])
    assert learning_rate(1.0, 22, 40, 4) == pytest.approx(0.5)  # half-way through the cosine
    assert learning_rate(1.0, 40, 40, 4) == pytest.approx(0.0)
    assert learning_rate(0.1, 30, 40, 4, "constant") == 0.1
    # half an epoch of 30 steps, capped at a tenth of the run
    assert warmup_steps(0.5, 30, 300) == 15 and warmup_steps(0.5, 30, 60) == 6
    assert warmup_steps(0.0, 30, 300) == 0


def test_warning_on_too_few_steps_names_the_options():
    # the paper's 80 images a step on 480 images for 10 epochs: 6 x 10 = 60 steps
    warning = too_few_steps(60, 480, 80, 10)
    assert warning and "60 optimizer steps" in warning
    assert "--batch-size" in warning and "--iter-size" in warning and "--epochs" in warning
    assert too_few_steps(MIN_STEPS, 480, 16, 10) is None


def test_run_prints_its_line_and_warns(tiny_data, tiny_config, tmp_path, capsys):
    train(tiny_config(tiny_data, tmp_path / "run", epochs=1, pooling="avg"))
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("train: "))
    # 35 training images (random split of 48), 8 x 2 per step -> 2 steps
    assert "35 images" in line and "8 x 2 x 1 = 16 per optimizer step" in line
    assert "2 optimizer steps" in line and "lr 0.01" in line and "recipe scratch" in line
    assert "warning: only 2 optimizer steps" in err


def test_recipe_is_kept_across_resume(tiny_data, tmp_path):
    run = tmp_path / "run"
    first = TrainConfig(data=str(tiny_data), out=str(run), backbone="resnet18", image_size=32,
                        pretrained=False, recipe="paper", batch_size=4, iter_size=2,
                        epochs=1, split="random", progress=False, workers=0)
    train(first)
    saved = read_checkpoint(run / "last.pt")
    assert saved["recipe"]["name"] == "paper"
    assert saved["recipe"]["given"] == ["batch_size", "image_size", "iter_size"]
    # lr 0.001 per 80 images, scaled to 4 x 2 = 8
    assert saved["train_config"]["lr"] == pytest.approx(0.0001)
    # resumed with the defaults (recipe auto: scratch): the paper's settings stay
    train(TrainConfig(data=str(tiny_data), out=str(run), pretrained=False, epochs=2,
                      resume=True, progress=False))
    state = read_checkpoint(run / "last.pt")
    assert state["epoch"] == 2 and state["recipe"] == saved["recipe"]
    config = state["train_config"]
    assert (config["recipe"], config["loss"], config["schedule"]) == ("paper", "wce",
                                                                      "constant")
    assert config["lr"] == pytest.approx(0.0001) and math.isclose(
        state["metrics"][1]["lr"], 0.0001)


def test_evaluate_shows_the_recipe(tiny_data, tmp_path, run_cli):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "--data", tiny_data, "--out", run, "--backbone",
                           "resnet18", "--image-size", "32", "--no-pretrained", "--epochs", "1",
                           "--batch-size", "8", "--split", "random", "-q")
    assert code == 0, err
    assert "recipe scratch" in err and "--batch-size" in err  # too few steps: a warning
    code, out, err = run_cli("evaluate", "--checkpoint", run / "best.pt", "--data", tiny_data,
                             "--out", tmp_path / "eval", "--workers", "0", "-q")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("trained with recipe"))
    assert "scratch" in line and "loss ce" in line and "given: batch_size, image_size" in line


def test_recipe_file_has_every_start():
    assert set(load_recipes()) == {"scratch", "imagenet", "checkpoint", "paper"}


def test_in_memory_dataset_decodes_each_image_once(tiny_data):
    from chestx.training.loaders import InMemory, image_dataset, split_ids

    ids = split_ids(tiny_data)["train"][:3]
    plain = image_dataset(tiny_data, ids, 14, 32, use_cache=False)
    kept = image_dataset(tiny_data, ids, 14, 32, use_cache=False, in_memory=True)
    assert isinstance(kept, InMemory) and not isinstance(plain, InMemory)
    reads = []
    original = kept.dataset.__class__.__getitem__

    def counting(self, index):
        reads.append(index)
        return original(self, index)

    kept.dataset.__class__.__getitem__ = counting
    try:
        first = [kept[i] for i in range(3)] + [kept[i] for i in range(3)]
    finally:
        kept.dataset.__class__.__getitem__ = original
    assert reads == [0, 1, 2]  # the second epoch read nothing
    for i in range(3):
        assert torch.equal(first[i][0], plain[i][0]) and first[i][0] is first[i + 3][0]


def test_default_workers_leave_a_small_cpu_to_the_convolutions():
    from chestx.training.distributed import default_workers

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert [default_workers(cpu, n) for n in (1, 2, 4, 8, 16, 64)] == [0, 0, 0, 2, 4, 4]
    assert [default_workers(gpu, n) for n in (2, 16)] == [2, 8]
    config, _ = resolve_config(_bare(pretrained=False), device=cpu)
    assert config.workers == default_workers(cpu)
    assert resolve_config(_bare(pretrained=False, workers=3))[0].workers == 3
