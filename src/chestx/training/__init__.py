"""Training: the loop (SGD, accumulation, AMP, DDP, checkpoints, resume), tensor
augmentations and the datasets it reads (cache-aware)."""

from chestx.training.augment import Augment
from chestx.training.loop import TrainConfig, TrainResult, train

__all__ = ["Augment", "TrainConfig", "TrainResult", "train"]
