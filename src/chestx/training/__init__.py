"""Training: the loop (SGD, accumulation, AMP, DDP, checkpoints, resume), its configuration,
tensor augmentations and the datasets it reads (cache-aware).

Names load on first use, so that ``chestx.training.config`` (what the CLI reads to build its
options) is importable without torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Augment": "augment",
    "TrainConfig": "config",
    "TrainResult": "loop",
    "train": "loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"chestx.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'chestx.training' has no attribute {name!r}")
