"""Gradient accumulation edge cases of the training loop: ``batch b x iter k`` is one batch of
``k*b``, a shorter last group is weighted by its own micro-batches, a group without
gradients is no step (with AMP's scaler too), and under DDP an empty batch on one rank
neither hangs the other nor lets the ranks' weights drift apart."""

import multiprocessing
import os

import pytest
import torch
from torch import nn

from chestx.training import TrainConfig
from chestx.training.distributed import Context
from chestx.training.loop import _group_sizes, _train_epoch


def _config(**overrides) -> TrainConfig:
    settings = dict(data="unused", out="unused", batch_size=4, iter_size=1, loss="ce",
                    optimizer="sgd", lr=0.5, momentum=0.9, weight_decay=1e-4,
                    schedule="constant", warmup_epochs=0.0, augment=False, image_size=8,
                    epochs=1, progress=False)
    settings.update(overrides)
    return TrainConfig(**settings)


def _net(batchnorm: bool = False) -> nn.Module:
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 3, 3, padding=1)]
    layers += [nn.BatchNorm2d(3)] if batchnorm else []
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 14)]
    return nn.Sequential(*layers)


def _data(n: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, 8, 8, generator=generator),
            (torch.rand(n, 14, generator=generator) < 0.3).float())


def _run(batches: list, iter_size: int, scaler=None) -> tuple[dict, int]:
    net = _net()
    config = _config(iter_size=iter_size)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    scaler = scaler or torch.amp.GradScaler("cuda", enabled=False)
    _, _, steps = _train_epoch(net, batches, optimizer, scaler, config, Context(), 1, 0, 10)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, steps


def _assert_same(a: dict, b: dict) -> None:
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=name)


def test_batch_times_iter_equals_one_big_batch():
    images, labels = _data(12)
    small = [(images[i:i + 4], labels[i:i + 4]) for i in (0, 4, 8)]
    accumulated, steps = _run(small, iter_size=3)
    one, _ = _run([(images, labels)], iter_size=1)
    assert steps == 1
    _assert_same(accumulated, one)


def test_shorter_last_group_is_weighted_by_its_own_micro_batches():
    images, labels = _data(20)
    small = [(images[i:i + 4], labels[i:i + 4]) for i in range(0, 20, 4)]  # groups 2, 2, 1
    accumulated, steps = _run(small, iter_size=2)
    big = [(images[0:8], labels[0:8]), (images[8:16], labels[8:16]),
           (images[16:20], labels[16:20])]
    stepped, _ = _run(big, iter_size=1)
    assert steps == 3 and _group_sizes(5, 2) == [2, 2, 1]
    _assert_same(accumulated, stepped)


def test_amp_group_without_gradient_is_no_step():
    images, labels = _data(4)
    # a live scaler (as under AMP on a GPU) refuses a step that saw no backward pass
    with_empty, steps = _run([(images, labels), None], iter_size=1,
                             scaler=torch.amp.GradScaler("cpu", init_scale=2.0 ** 4))
    alone, _ = _run([(images, labels)], iter_size=1,
                    scaler=torch.amp.GradScaler("cpu", init_scale=2.0 ** 4))
    assert steps == 2  # the schedule still counts the skipped group
    _assert_same(with_empty, alone)


def _ddp_rank(rank: int, init_file: str, out: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=2)
    try:
        net = DistributedDataParallel(_net(batchnorm=True))
        config = _config(iter_size=2)
        optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum)
        images, labels = _data(16, seed=10 + rank)
        batches = [(images[i:i + 4], labels[i:i + 4]) for i in range(0, 16, 4)]
        if rank == 1:
            batches[1] = None  # every image of this batch was unreadable
        _train_epoch(net, batches, optimizer, torch.amp.GradScaler("cuda", enabled=False),
                     config, Context(rank, 2, torch.device("cpu")), 1, 0, 10)
        # parameters, not BatchNorm statistics: DDP keeps those per rank (rank 0's are saved)
        torch.save(dict(net.module.named_parameters()), os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_iter_size_two_with_an_empty_batch_ends_identical(tmp_path):
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_ddp_rank, args=(rank, str(tmp_path / "init"),
                                                       str(tmp_path)))
                 for rank in (0, 1)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    hung = [p for p in processes if p.is_alive()]
    for process in hung:
        process.kill()
    assert not hung, "a rank hung in the gradient all-reduce"
    assert [p.exitcode for p in processes] == [0, 0]
    first, second = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    _assert_same(first, second)
    assert not torch.equal(first["0.weight"], _net(batchnorm=True).state_dict()["0.weight"])
    assert set(first) == {name for name, _ in _net(batchnorm=True).named_parameters()}
