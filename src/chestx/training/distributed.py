"""DistributedDataParallel set-up for ``torchrun --nproc_per_node N chestx train ...``:
gloo on CPU, nccl on GPU; a plain single process when torchrun did not start us."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from chestx.errors import ChestxError


@dataclass(frozen=True)
class Context:
    """Where this process runs: ``rank`` of ``world_size``, on ``device``."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def resolve_device(device: str) -> torch.device:
    """``auto | cpu | cuda | cuda:N`` -> a torch device; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ChestxError("device cuda: no CUDA GPU is available here (use the CPU)",
                          remedies={"device": "cpu"})
    if device != "cpu" and not device.startswith("cuda"):
        raise ChestxError(f"unknown device {device!r} (use auto, cpu or cuda)")
    return torch.device(device)


def default_workers(device: torch.device, cpus: int | None = None) -> int:
    """DataLoader processes when ``--workers`` is not given: none on a CPU-only machine of 4
    cores or fewer (a worker there takes a core from the convolutions, which dominate an
    epoch), else up to 4 on CPU and up to 8 feeding a GPU."""
    cpus = cpus or os.cpu_count() or 1
    if device.type == "cuda":
        return min(8, cpus)
    return 0 if cpus <= 4 else min(4, cpus // 4)


def setup(device: str = "auto") -> Context:
    """Join the process group when ``WORLD_SIZE`` > 1 (set by torchrun), else run alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    target = resolve_device(device)
    if world_size <= 1:
        return Context(0, 1, target)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if target.type == "cuda":
        target = torch.device("cuda", local_rank)
        torch.cuda.set_device(target)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
    return Context(rank, world_size, target)


def teardown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()
