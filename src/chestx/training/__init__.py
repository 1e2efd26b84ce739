"""Training: the loop (SGD, accumulation, AMP, DDP, checkpoints, resume), its configuration,
tensor augmentations and the datasets it reads (cache-aware).

Names load on first use, so that ``chestx.training.train_config`` (what the CLI reads to build its
options) is importable without torch.
"""

from __future__ import annotations

from chestx.exports import lazy_exports

_EXPORTS = {
    "Augment": "augment",
    "TrainConfig": "train_config",
    "TrainResult": "loop",
    "train": "loop",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
