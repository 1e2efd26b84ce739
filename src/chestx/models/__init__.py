"""The paper's unified DCNN (§3.1): backbones, transition, pooling, prediction, losses.

``build_model(...)`` gives a :class:`ChestXNet`, a plain ``nn.Module`` taking
``(N, 1, H, W)`` images in ``[0, 1]``; ``load_checkpoint(path)`` rebuilds a trained one.
"""

from chestx.models.backbones import BACKBONES, build_backbone, feature_size
from chestx.models.checkpoint import load_checkpoint, model_from_state, save_checkpoint
from chestx.models.forward import BatchOutput, forward_batches
from chestx.models.losses import LOSS_NAMES, LOSSES, PAPER_NAMES, get_loss
from chestx.models.model_config import MODEL_CONFIG_VERSION, ModelConfig
from chestx.models.net import ChestXNet, Transition, build_model
from chestx.models.pooling import POOLINGS, GlobalPool, lse_pool
from chestx.models.state import load_weights, read_checkpoint

__all__ = [
    "BACKBONES", "LOSSES", "LOSS_NAMES", "MODEL_CONFIG_VERSION", "PAPER_NAMES", "POOLINGS",
    "BatchOutput", "ChestXNet", "GlobalPool", "ModelConfig", "Transition", "build_backbone",
    "build_model", "feature_size", "forward_batches", "get_loss", "load_checkpoint",
    "load_weights", "lse_pool", "model_from_state", "read_checkpoint", "save_checkpoint",
]
