"""The typed model configuration: everything needed to rebuild a :class:`ChestXNet`.

A checkpoint stores :meth:`ModelConfig.to_dict` (with its ``version``); :meth:`ModelConfig.
from_dict` reads that and every older form, so old checkpoints keep loading. Adding a setting
is one field with a default here (older checkpoints get the default).

Version history:

- 0 (no ``version`` key): a free dict; ``r`` repeated ``lse_r``, ``num_classes`` repeated
  ``len(classes)``.
- 1: the fields of :class:`ModelConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from chestx.errors import ChestxError
from chestx.findings import FINDINGS, classes_for
from chestx.models.backbones import IMAGENET_MEAN, IMAGENET_STD

MODEL_CONFIG_VERSION = 1

#: Keys of version-0 dicts that repeat a field (read for old checkpoints, never written).
_LEGACY_KEYS = ("r", "num_classes")


@dataclass(frozen=True)
class ModelConfig:
    """How a ChestXNet is built and fed.

    Attributes
    ----------
    backbone : a :data:`chestx.models.backbones.BACKBONES` name or torchvision model name.
    classes : the ``C`` finding names, in output order.
    pooling : ``avg | max | lse`` (:data:`chestx.models.pooling.POOLINGS`).
    lse_r : ``r`` of LSE pooling (paper: 10).
    image_size : the input side in pixels; inputs are ``(N, 1, image_size, image_size)``.
    transition_channels : ``D`` of the transition layer.
    heatmap_size : ``S``: heatmaps are ``(C, S, S)``.
    output_stride : the backbone's stride, 32 (undilated), 16 or 8 (dilated to reach
        ``heatmap_size``, see :func:`chestx.models.backbones.heatmap_plan`).
    mean, std : per-channel normalization of the backbone's ImageNet weights (RGB).
    channels : input channels (1: gray).
    channel_handling : how gray becomes RGB (``repeat``: the same value on R, G, B).
    loss : the training loss (set by the trainer; ``None`` for an untrained model).
    version : :data:`MODEL_CONFIG_VERSION` of the writer.
    """

    backbone: str = "resnet50"
    classes: tuple[str, ...] = FINDINGS
    pooling: str = "lse"
    lse_r: float = 10.0
    image_size: int = 1024
    transition_channels: int = 2048
    heatmap_size: int = 32
    output_stride: int = 32
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    channels: int = 1
    channel_handling: str = "repeat"
    loss: str | None = None
    version: int = MODEL_CONFIG_VERSION

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict:
        """Plain types only (lists, not tuples): what a checkpoint and ONNX metadata store."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "checkpoint") -> ModelConfig:
        """Read a stored config of any version (unknown keys are ignored).

        Raises :class:`ChestxError` naming ``source`` for a newer version than this chestx
        reads.
        """
        version = int(data.get("version", 0))
        if version > MODEL_CONFIG_VERSION:
            raise ChestxError(f"{source}: model config version {version} is newer than this "
                              f"chestx reads ({MODEL_CONFIG_VERSION}); upgrade chestx")
        values = {k: v for k, v in data.items() if k not in _LEGACY_KEYS}
        if "classes" not in values and "num_classes" in data:
            values["classes"] = classes_for(int(data["num_classes"]))
        if "lse_r" not in values and "r" in data:
            values["lse_r"] = data["r"]
        names = {f.name for f in dataclasses.fields(cls)}
        kept = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()
                if k in names}
        return cls(**{**kept, "version": MODEL_CONFIG_VERSION})
