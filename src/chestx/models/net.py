"""The paper's unified DCNN (§3.1, Fig. 4): backbone -> transition -> global pooling ->
prediction, with class heatmaps (CAM) from the transition activations and prediction weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from chestx.findings import classes_for
from chestx.models.backbones import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    HeatmapPlan,
    backbone_spec,
    build_backbone,
    feature_size,
    heatmap_plan,
)
from chestx.models.model_config import ModelConfig
from chestx.models.pooling import GlobalPool
from chestx.models.state import load_weights


class Transition(nn.Module):
    """The transition layer: 3x3 conv + ReLU from the backbone's ``D_in`` to ``D`` channels,
    ``(N, D_in, s, s) -> (N, D, S, S)`` (trained from scratch, as in the paper). Its
    non-negative activations are what the heatmaps weight.

    ``dilation``: that of the backbone's last stage (``32 / stride``), so that a dilated model
    sees the same neighbourhood per cell as the undilated one. ``output_size``: when given,
    the backbone features are first average-pooled to ``S x S`` (a backbone output larger than
    the requested heatmap side).
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1,
                 output_size: int | None = None) -> None:
        super().__init__()
        self.output_size = output_size
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=dilation,
                              dilation=dilation)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_size is not None:
            x = F.adaptive_avg_pool2d(x, self.output_size)
        return F.relu(self.conv(x))


class ChestXNet(nn.Module):
    """Weakly-supervised multi-label classifier of chest X-rays.

    Input: ``(N, 1, H, W)`` float in ``[0, 1]`` (a 3-channel ``(N, 3, H, W)`` image works
    too). The model normalizes by itself: the gray value is broadcast to the three ImageNet
    channels and each is normalized with that backbone's mean/std (buffers ``mean``/``std``),
    i.e. the gray image is *repeated* over R, G, B, which is what the ImageNet weights saw
    for a gray photo.

    - ``model(x)`` -> logits ``(N, C)`` (probabilities are ``sigmoid(logits)``);
    - ``model.forward_heatmaps(x)`` -> ``(logits (N, C), heatmaps (N, C, S, S))`` where
      ``heatmaps[n, c] = sum_d W[c, d] * transition[n, d]`` (CAM, no bias). With ``avg``
      pooling ``heatmaps.mean((2, 3)) + bias == logits`` exactly.
    - ``model.config``: a :class:`~chestx.models.model_config.ModelConfig`, everything needed to
      rebuild it (see :func:`build_model`).
    """

    def __init__(self, backbone: nn.Module, backbone_channels: int, num_classes: int,
                 pooling: str = "lse", lse_r: float = 10.0,
                 transition_channels: int | None = None,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 config: ModelConfig | None = None, plan: HeatmapPlan | None = None) -> None:
        super().__init__()
        channels = transition_channels or backbone_channels
        self.backbone = backbone
        pooled = plan is not None and plan.pooled
        self.transition = Transition(
            backbone_channels, channels,
            dilation=1 if plan is None or pooled else 32 // plan.stride,
            output_size=plan.size if pooled else None)
        self.pool = GlobalPool(pooling, lse_r)
        self.prediction = nn.Linear(channels, num_classes)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.config: ModelConfig = config or ModelConfig()

    def transition_activations(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` in [0, 1] -> transition activations ``(N, D, S, S)``."""
        x = (x - self.mean) / self.std  # (N, 1, H, W) broadcasts to (N, 3, H, W)
        return self.transition(self.backbone(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` -> logits ``(N, C)``."""
        return self.prediction(self.pool(self.transition_activations(x)))

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 1, H, W)`` -> ``(logits (N, C), pooled features (N, D))``: the globally pooled
        transition activations the prediction layer reads (out-of-distribution statistics)."""
        pooled = self.pool(self.transition_activations(x))
        return self.prediction(pooled), pooled

    def forward_heatmaps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 1, H, W)`` -> ``(logits (N, C), heatmaps (N, C, S, S))``.

        The heatmaps are a 1x1 convolution of the transition activations with the prediction
        weights (no bias): one graph without data-dependent Python branches, ONNX-exportable.
        """
        activations = self.transition_activations(x)
        logits = self.prediction(self.pool(activations))
        heatmaps = F.conv2d(activations, self.prediction.weight[:, :, None, None])
        return logits, heatmaps

    @property
    def classes(self) -> list[str]:
        return list(self.config.classes)


def build_model(backbone: str = "resnet50", num_classes: int = 14, pooling: str = "lse",
                lse_r: float = 10.0, pretrained: bool = False, weights: str | None = None,
                image_size: int = 1024, transition_channels: int | None = None,
                classes: Sequence[str] | None = None,
                heatmap_size: int | None = None) -> ChestXNet:
    """Build the paper's network on a torchvision backbone.

    Args:
        backbone: a name in :data:`chestx.models.backbones.BACKBONES` (alexnet, googlenet,
            vgg16, resnet50, densenet121, resnet18, ...) or any torchvision classifier name.
        num_classes: 14 (ChestX-ray14, NIH order) or 8 (ChestX-ray8); another number needs
            ``classes``.
        pooling: ``avg | max | lse``; ``lse_r`` is LSE's ``r`` (paper's best: 10).
        pretrained: start from torchvision's ImageNet weights (downloads them; offline this
            raises :class:`~chestx.errors.ChestxError`); ignored when ``weights`` is given.
        weights: path of a backbone state dict (torchvision format) or a chestx checkpoint to
            start from (see :func:`chestx.models.state.load_weights`).
        image_size: the training/inference side in pixels (recorded in the config, and used
            for the heatmap side ``S`` it records).
        transition_channels: ``D`` of the transition layer; default: the backbone's channels
            (2048 for ResNet-50, 1024 for GoogLeNet, as in the paper).
        classes: class names, default :func:`chestx.findings.classes_for(num_classes)`.
        heatmap_size: ``S`` of the transition layer's ``S x S`` output at ``image_size``
            (8, 16 or 32), reached by dilating the backbone and, where needed, pooling (see
            :func:`chestx.models.backbones.heatmap_plan`); ``None``: the backbone's own side
            (stride 32, e.g. 8 at 256 px, 32 at 1024 px). The weights do not depend on it, so a
            checkpoint rebuilt at another ``S`` computes finer (or coarser) heatmaps of the same
            network.
    """
    if classes is None:
        classes = classes_for(num_classes) if num_classes in (8, 14) else [
            f"class_{i}" for i in range(num_classes)]
    classes = list(classes)
    if len(classes) != num_classes:
        num_classes = len(classes)
    spec = backbone_spec(backbone)
    plan = heatmap_plan(backbone, image_size, heatmap_size)
    backbone_channels = feature_size(backbone, image_size)[0]
    config = ModelConfig(
        backbone=backbone, classes=tuple(classes), pooling=pooling, lse_r=float(lse_r),
        image_size=int(image_size), mean=tuple(spec.mean), std=tuple(spec.std),
        transition_channels=int(transition_channels or backbone_channels),
        heatmap_size=plan.size, output_stride=plan.stride)
    # a --weights start replaces the ImageNet one: downloading it would be wasted (or fail
    # offline) since load_weights overwrites the backbone
    model = ChestXNet(build_backbone(backbone, pretrained and weights is None, plan.stride),
                      backbone_channels, num_classes,
                      pooling, lse_r, transition_channels, spec.mean, spec.std, config, plan)
    if weights is not None:
        load_weights(model, weights)
    return model

