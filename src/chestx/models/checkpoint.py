"""Checkpoints: one ``torch.save`` dict that rebuilds the model with no other input.

Keys: ``model_state``, ``config`` (:meth:`chestx.models.config.ModelConfig.to_dict`, with
its ``version``; older versions load too), ``epoch``, ``optimizer_state``,
``metrics`` (list of per-epoch dicts), ``chestx_version``, plus whatever the trainer adds
(scheduler/scaler state, RNG state, best score). Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from chestx import __version__
from chestx.atomic import atomic_path
from chestx.errors import ChestxError
from chestx.models.config import ModelConfig
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
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> ChestXNet:
    """Rebuild the model saved at ``path`` (config + weights), in eval mode."""
    return model_from_state(read_checkpoint(path, map_location), path).to(map_location).eval()


def model_from_state(state: dict, path: str | os.PathLike = "checkpoint") -> ChestXNet:
    """Rebuild the model of a checkpoint dict read by :func:`read_checkpoint` (eval mode)."""
    if "model_state" not in state or "config" not in state:
        raise ChestxError(f"{path}: not a chestx checkpoint (no model_state/config)")
    try:
        config = ModelConfig.from_dict(state["config"], str(path))
        model = build_model(backbone=config.backbone, num_classes=config.num_classes,
                            pooling=config.pooling, lse_r=config.lse_r,
                            image_size=config.image_size,
                            transition_channels=config.transition_channels,
                            classes=config.classes)
        model.load_state_dict(state["model_state"])
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ChestxError(f"{path}: checkpoint does not match its config "
                          f"({str(exc).splitlines()[0]})") from exc
    model.config = config  # as trained (normalization, loss), not rebuilt defaults
    return model.eval()
