"""Checkpoints: one ``torch.save`` dict that rebuilds the model with no other input.

Keys: ``model_state``, ``config`` (:meth:`chestx.models.model_config.ModelConfig.to_dict`, with
its ``version``; older versions load too), ``epoch``, ``optimizer_state``,
``metrics`` (list of per-epoch dicts), ``chestx_version``, plus whatever the trainer adds
(scheduler/scaler state, RNG state, best score). Writes are atomic.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from chestx import __version__
from chestx.atomic import atomic_path
from chestx.errors import ChestxError
from chestx.models.backbones import heatmap_plan
from chestx.models.model_config import ModelConfig
from chestx.models.net import ChestXNet, build_model
from chestx.models.state import read_checkpoint


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, epoch: int = 0,
                    optimizer: torch.optim.Optimizer | None = None,
                    metrics: list[dict] | None = None, **extra) -> Path:
    """Save ``model`` (a :class:`ChestXNet`, possibly DDP-wrapped) atomically to ``path``."""
    net = getattr(model, "module", model)
    state = {
        "model_state": net.state_dict(),
        "config": net.config.to_dict(),
        "epoch": int(epoch),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "metrics": list(metrics or []),
        "chestx_version": __version__,
        **extra,
    }
    return write_state(path, state)


def write_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a checkpoint dict atomically (a read-modify-write keeps every key)."""
    path = Path(path)
    with atomic_path(path) as tmp, _without_crc32():
        torch.save(state, tmp)
    return path


@contextmanager
def _without_crc32() -> Iterator[None]:
    """Write zip records without CRC-32 checksums, restoring the setting after.

    The checksums took about 60 % of a resnet18 checkpoint write on CPU (0.15-0.23 s with
    them, 0.07-0.09 s without), paid twice an epoch; the atomic rename already keeps a
    reader from a half-written file, and the files load the same either way. torch offers
    the switch only process-wide, hence the save and restore."""
    previous = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        yield
    finally:
        torch.serialization.set_crc32_options(previous)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    heatmap_size: int | None = None) -> ChestXNet:
    """Rebuild the model saved at ``path`` (config + weights), in eval mode; at heatmap side
    ``heatmap_size`` when given (see :func:`model_from_state`)."""
    model = model_from_state(read_checkpoint(path, map_location), path, heatmap_size)
    return model.to(map_location).eval()


def model_from_state(state: dict, path: str | os.PathLike = "checkpoint",
                     heatmap_size: int | None = None) -> ChestXNet:
    """Rebuild the model of a checkpoint dict read by :func:`read_checkpoint` (eval mode).

    ``heatmap_size``: rebuild at another heatmap side ``S`` than the one trained (the same
    weights on a dilated or pooled backbone, see :func:`chestx.models.build_model`).
    """
    if "model_state" not in state or "config" not in state:
        raise ChestxError(f"{path}: not a chestx checkpoint (no model_state/config)")
    try:
        config = ModelConfig.from_dict(state["config"], str(path))
        model = build_model(backbone=config.backbone, num_classes=config.num_classes,
                            pooling=config.pooling, lse_r=config.lse_r,
                            image_size=config.image_size,
                            transition_channels=config.transition_channels,
                            classes=config.classes,
                            heatmap_size=heatmap_size or config.heatmap_size)
        model.load_state_dict(state["model_state"])
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ChestxError(f"{path}: checkpoint does not match its config "
                          f"({str(exc).splitlines()[0]})") from exc
    # as trained (normalization, loss), not rebuilt defaults; the heatmap side as built
    model.config = dataclasses.replace(config, heatmap_size=model.config.heatmap_size,
                                       output_stride=model.config.output_stride)
    return model.eval()


def finest_heatmap_size(model: ChestXNet, largest: int = 32) -> int:
    """The largest ``S <= largest`` among 8 / 16 / 32 that ``model``'s backbone reaches at its
    image size by dilation alone (no pooling), or its own side when none is finer."""
    config = model.config
    for size in (s for s in (32, 16, 8) if s <= largest):
        try:
            plan = heatmap_plan(config.backbone, config.image_size, size)
        except ChestxError:
            continue
        if not plan.pooled and size >= config.heatmap_size:
            return size
    return config.heatmap_size


def at_heatmap_size(model: ChestXNet, heatmap_size: int | None) -> ChestXNet:
    """``model`` rebuilt at heatmap side ``heatmap_size`` (its own weights on a dilated or
    pooled backbone, eval mode, same device); ``model`` itself when it already has that side."""
    if heatmap_size is None or heatmap_size == model.config.heatmap_size:
        return model
    device = next(model.parameters()).device
    state = {"model_state": model.state_dict(), "config": model.config.to_dict()}
    return model_from_state(state, heatmap_size=heatmap_size).to(device)
