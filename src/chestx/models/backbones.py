"""Backbone registry: torchvision ImageNet networks after the paper's "network surgery".

The paper (§3.1) keeps the convolutional part of an ImageNet network and drops its
fully-connected and classification layers. :func:`build_backbone` does that for any
torchvision classification model by name; :data:`BACKBONES` lists the ones we document.

A backbone maps ``(N, 3, H, W)`` normalized images to ``(N, D, S, S)`` features. ``S`` for
the paper's four networks and the test networks (input ``H = W``):

============  =====  ====  ====  ====  ====  ==========================================
backbone      D      224   256   512   1024  note
============  =====  ====  ====  ====  ====  ==========================================
alexnet       256    6     7     15    31    conv5 + last max pool (no padding: H/32-1)
googlenet     1024   7     8     16    32    up to inception5b (stride 32)
vgg16         512    7     8     16    32    conv5_3 + last max pool (stride 32)
resnet50      2048   7     8     16    32    up to layer4 (stride 32)
resnet18      512    7     8     16    32    up to layer4 (stride 32)
densenet121   1024   7     8     16    32    features + final ReLU (stride 32)
============  =====  ====  ====  ====  ====  ==========================================

So the paper's 32 x 32 heatmaps at 1024 px come from every stride-32 backbone.
:func:`feature_size` computes ``(D, S)`` for any backbone and input size without running it.

Heatmap size ``S`` (``chestx train --heatmap-size S``, S in 8 / 16 / 32): ``S`` is the side of
the transition layer's output *at the training image size*. The backbone runs at the largest
output stride among 32 / 16 / 8 that is at most ``image_size / S``; a stride below the
network's own 32 is reached by *dilation* (the stride-2 step of the last one or two stages is
removed and every later convolution dilated by 2, so the ImageNet weights keep their shapes and
meaning: at the old grid points the features are exactly those of the undilated network, the
new points in between are the same network on a shifted image). When the backbone's output is
then larger than ``S`` (at 512 / 1024 px, or 224 px, where ``image_size / S`` is no stride),
the transition layer average-pools it to exactly ``S x S``. Without ``--heatmap-size`` a model
keeps its backbone's own side (the table above).

Backbone stride / backbone side -> transition output ``S`` per family (``-``: refused with
an error saying why); ``resnet``, ``vgg`` and ``densenet`` rows hold for every member of the
family (:data:`DILATABLE`), the others are single networks:

============  ==  ========  ========  ========  ========
backbone      S   224 px    256 px    512 px    1024 px
============  ==  ========  ========  ========  ========
resnet        8   16/14->8  32/8      32/16->8  32/32->8
resnet        16  8/28->16  16/16     32/16     32/32->16
resnet        32  -         8/32      16/32     32/32
vgg           8   16/14->8  32/8      32/16->8  32/32->8
vgg           16  8/28->16  16/16     32/16     32/32->16
vgg           32  -         8/32      16/32     32/32
densenet      8   16/14->8  32/8      32/16->8  32/32->8
densenet      16  8/28->16  16/16     32/16     32/32->16
densenet      32  -         8/32      16/32     32/32
googlenet     8   -         32/8      32/16->8  32/32->8
googlenet     16  -         -         32/16     32/32->16
googlenet     32  -         -         -         32/32
alexnet       8   -         -         32/15->8  32/31->8
alexnet       16  -         -         -         32/31->16
alexnet       32  -         -         -         -
inception_v3  8   -         -         32/14->8  32/30->8
inception_v3  16  -         -         -         32/30->16
inception_v3  32  -         -         -         -
============  ==  ========  ========  ========  ========

``resnet`` is every torchvision ResNet (resnet18 ... resnet152, ResNeXt, wide ResNets).
GoogLeNet, AlexNet and Inception-v3 are not dilated: their stride-2 poolings use ``ceil_mode``
or no padding (and Inception-v3 strided 3x3 convolutions without padding), so running one at
stride 1 shifts every later grid point and the ImageNet features no longer line up. They take ``S``
only where their own stride 32 gives at least ``S`` cells (pooled down to ``S``). At 256 px
every dilatable backbone gives S = 8 / 16 / 32 at strides 32 / 16 / 8 with no pooling.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

from chestx.errors import ChestxError
from chestx.registry import Registry, RegistryError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Children that belong to the classifier head (or auxiliary heads) and are cut away.
_HEAD_NAMES = ("avgpool", "fc", "classifier", "dropout", "aux1", "aux2", "AuxLogits",
               "head", "heads", "flatten")


@dataclass(frozen=True)
class BackboneSpec:
    """How to cut one torchvision network: the torchvision name, the input normalization its
    ImageNet weights expect, and an optional function returning its feature extractor."""

    torchvision_name: str
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    cut: Callable[[nn.Module], nn.Module] | None = None


def _features_with_relu(net: nn.Module) -> nn.Module:
    # DenseNet's forward applies a ReLU after ``features`` (norm5); keep it in the backbone.
    return nn.Sequential(net.features, nn.ReLU(inplace=False))


def _children_before_head(net: nn.Module) -> nn.Module:
    """Every top-level child in order, skipping heads, stopping at the first pooling head."""
    kept = []
    for name, child in net.named_children():
        if name in ("avgpool", "fc", "classifier", "dropout", "head", "flatten"):
            break
        if name in _HEAD_NAMES:
            continue
        kept.append((name, child))
    return nn.Sequential(OrderedDict(kept))


def _features(net: nn.Module) -> nn.Module:
    return net.features


#: The documented backbones. Any other torchvision classification model is accepted by name.
BACKBONES: Registry[BackboneSpec] = Registry("backbone", {
    "alexnet": BackboneSpec("alexnet", cut=_features),
    # torchvision's GoogLeNet weights were ported from TensorFlow and expect inputs in
    # [-1, 1] (its ``transform_input``); we normalize that way directly.
    "googlenet": BackboneSpec("googlenet", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "vgg16": BackboneSpec("vgg16", cut=_features),
    "vgg16_bn": BackboneSpec("vgg16_bn", cut=_features),
    "resnet18": BackboneSpec("resnet18"),
    "resnet34": BackboneSpec("resnet34"),
    "resnet50": BackboneSpec("resnet50"),
    "resnet101": BackboneSpec("resnet101"),
    "densenet121": BackboneSpec("densenet121", cut=_features_with_relu),
    "inception_v3": BackboneSpec("inception_v3", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
})


def backbone_spec(name: str) -> BackboneSpec:
    """The spec for ``name``: a documented one, or a torchvision classification model."""
    if name in BACKBONES:
        return BACKBONES.get(name)
    if name in torchvision.models.list_models(module=torchvision.models):
        cut = _features_with_relu if name.startswith("densenet") else None
        return BackboneSpec(name, cut=cut)
    raise RegistryError(f"unknown backbone {name!r} (use one of {', '.join(BACKBONES)} "
                        "or a torchvision classification model name)")


def cut_backbone(spec: BackboneSpec, net: nn.Module) -> nn.Module:
    """The feature extractor of torchvision network ``net``: everything before its head."""
    if spec.cut is not None:
        return spec.cut(net)
    if hasattr(net, "features") and not hasattr(net, "layer4"):
        return net.features  # vgg, mobilenet, efficientnet, convnext, ...
    return _children_before_head(net)


def _network_kwargs(spec: BackboneSpec, pretrained: bool) -> dict:
    # ResNets keep torchvision's own initialization: zero-initialized residual branches
    # (zero_init_residual) left a from-scratch resnet18 at the base-rate loss for epochs on
    # 500-image phantom sets, where the default initialization learns from the first epoch
    if spec.torchvision_name not in ("googlenet", "inception_v3"):
        return {}
    # We normalize ourselves (transform_input off) and use no auxiliary heads; torchvision
    # needs them built to load the pretrained weights, the cut drops them anyway.
    kwargs = {"transform_input": False, "init_weights": not pretrained}
    if not pretrained:
        kwargs["aux_logits"] = False
    return kwargs


def torchvision_network(name: str, pretrained: bool = False) -> nn.Module:
    """The full torchvision model ``name``; ImageNet weights when ``pretrained``.

    Offline, the download fails with a one-line :class:`ChestxError` that says what to do.
    """
    spec = backbone_spec(name)
    weights = "DEFAULT" if pretrained else None
    try:
        return torchvision.models.get_model(spec.torchvision_name, weights=weights,
                                            **_network_kwargs(spec, pretrained))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        if not pretrained:
            raise
        reason = str(exc).splitlines()[0] if str(exc) else "no network"
        raise ChestxError(
            f"could not download the ImageNet weights of {name} ({type(exc).__name__}: "
            f"{reason}); start from weights in a local file (a torchvision state dict) or "
            "without pretrained weights", remedies={"weights": "PATH", "pretrained": False},
        ) from exc


def build_backbone(name: str, pretrained: bool = False, output_stride: int = 32) -> nn.Module:
    """The convolutional part of torchvision's ``name``: ``(N, 3, H, W) -> (N, D, S, S)``,
    dilated to ``output_stride`` (32: as torchvision builds it; 16 or 8: see
    :func:`dilate_backbone`)."""
    backbone = cut_backbone(backbone_spec(name), torchvision_network(name, pretrained))
    return dilate_backbone(backbone, name, output_stride) if output_stride != 32 else backbone


@functools.lru_cache(maxsize=256)
def feature_size(name: str, image_size: int, output_stride: int = 32) -> tuple[int, int]:
    """``(D, S)``: channels and side of the backbone's output for a square ``image_size``
    input at ``output_stride``, computed on the meta device (no memory, no arithmetic)."""
    with torch.device("meta"):
        backbone = build_backbone(name, output_stride=output_stride).eval()
        out = backbone(torch.empty(1, 3, image_size, image_size))
    if out.ndim != 4:
        raise ChestxError(f"backbone {name!r} does not give spatial features (shape "
                          f"{tuple(out.shape)})")
    return int(out.shape[1]), int(out.shape[-1])


# ------------------------------------------------------------------------- heatmap size
#: Heatmap sides ``S`` that ``--heatmap-size`` accepts (the paper's transition layer, §3.1).
HEATMAP_SIZES: tuple[int, ...] = (8, 16, 32)
#: Output strides a backbone can run at, coarsest first (32: undilated).
OUTPUT_STRIDES: tuple[int, ...] = (32, 16, 8)
#: Backbone families whose stride can be reduced by dilation (torchvision name prefixes).
DILATABLE: dict[str, tuple[str, ...]] = {
    "resnet": ("resnet", "resnext", "wide_resnet"), "vgg": ("vgg",), "densenet": ("densenet",)}


class DensePool(nn.Module):
    """A 2 x 2, stride-2 max or average pooling run at stride 1 on a grid dilated by
    ``dilation`` (the "a trous" form of the pooling): ``out[..., 2i, 2j]`` of the dilated
    network equals ``out[..., i, j]`` of the strided one. The right and bottom edges are
    padded by replication so that the side is kept. ``(N, D, H, W) -> (N, D, H, W)``."""

    def __init__(self, mode: str, dilation: int = 1) -> None:
        super().__init__()
        self.mode, self.dilation = mode, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dilation
        x = torch.nn.functional.pad(x, (0, d, 0, d), mode="replicate")
        corners = (x[..., :-d, :-d], x[..., :-d, d:], x[..., d:, :-d], x[..., d:, d:])
        if self.mode == "max":
            return torch.maximum(torch.maximum(corners[0], corners[1]),
                                 torch.maximum(corners[2], corners[3]))
        return (corners[0] + corners[1] + corners[2] + corners[3]) / 4


def backbone_family(name: str) -> str | None:
    """``resnet``, ``vgg`` or ``densenet`` when ``name`` can be dilated, else ``None``."""
    torchvision_name = backbone_spec(name).torchvision_name
    return next((family for family, prefixes in DILATABLE.items()
                 if torchvision_name.startswith(prefixes)), None)


def _double_dilation_after(backbone: nn.Module, marker: nn.Module) -> None:
    """Dilate by 2 every spatial convolution and dense pooling that runs after ``marker``."""
    modules = list(backbone.modules())
    for module in modules[modules.index(marker) + 1:]:
        if isinstance(module, nn.Conv2d) and max(module.kernel_size) > 1:
            module.dilation = tuple(2 * d for d in module.dilation)
            module.padding = tuple(2 * p for p in module.padding)
        elif isinstance(module, DensePool):
            module.dilation *= 2


def _undo_conv_stride(backbone: nn.Module, stage: nn.Module) -> None:
    # ResNet stage: the first block's strided 3x3 (and its 1x1 shortcut) go to stride 1
    strided = [m for m in stage.modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)]
    for conv in strided:
        conv.stride = (1, 1)
    _double_dilation_after(backbone, strided[0])


def _undo_pool(backbone: nn.Module, parent: nn.Module, name: str, mode: str) -> None:
    dense = DensePool(mode)
    setattr(parent, name, dense)
    _double_dilation_after(backbone, dense)


def _strided_stages(backbone: nn.Module, family: str) -> list:
    """The downsampling steps of a cut backbone, last first, as callables that undo one."""
    if family == "resnet":
        return [lambda s=stage: _undo_conv_stride(backbone, s)
                for stage in (backbone.layer4, backbone.layer3)]
    if family == "vgg":
        pools = [str(i) for i, m in enumerate(backbone) if isinstance(m, nn.MaxPool2d)]
        return [lambda n=n: _undo_pool(backbone, backbone, n, "max") for n in pools[::-1]]
    features = backbone[0]  # densenet: (features, relu)
    transitions = [n for n, _ in features.named_children() if n.startswith("transition")]
    return [lambda n=n: _undo_pool(backbone, getattr(features, n), "pool", "avg")
            for n in transitions[::-1]]


def dilate_backbone(backbone: nn.Module, name: str, output_stride: int) -> nn.Module:
    """Bring a cut stride-32 backbone ``name`` to ``output_stride`` (16 or 8), in place.

    The last ``log2(32 / output_stride)`` downsampling steps run at stride 1 (a ResNet
    stage's strided convolutions, a VGG max pooling or a DenseNet transition's average
    pooling, as :class:`DensePool`), and every spatial operation after each is dilated by 2.
    Parameter names and shapes are unchanged, so torchvision's ImageNet state dicts load.
    """
    if output_stride not in OUTPUT_STRIDES:
        raise ChestxError(f"output stride {output_stride} is not one of "
                          f"{', '.join(map(str, OUTPUT_STRIDES))}")
    family = backbone_family(name)
    if family is None:
        raise ChestxError(f"backbone {name} cannot be dilated to stride {output_stride} (only "
                          "ResNets, VGGs and DenseNets can); use a smaller heatmap size or "
                          "larger images", remedies={"heatmap_size": None})
    steps = _strided_stages(backbone, family)
    for undo in steps[:OUTPUT_STRIDES.index(output_stride)]:
        undo()
    return backbone


@dataclass(frozen=True)
class HeatmapPlan:
    """How a backbone reaches heatmap side ``size`` at one image size: it runs at
    ``stride`` and gives ``side x side`` features, pooled to ``size x size`` when larger."""

    stride: int
    side: int
    size: int

    @property
    def pooled(self) -> bool:
        return self.side != self.size


def heatmap_plan(name: str, image_size: int, heatmap_size: int | None = None) -> HeatmapPlan:
    """The stride and pooling that give ``heatmap_size x heatmap_size`` transition outputs for
    ``image_size`` px inputs (the rule and table in this module's docstring).

    ``None`` (and the backbone's own side) keep the undilated backbone. Impossible sizes raise
    :class:`ChestxError` with one line saying why.
    """
    own = feature_size(name, image_size)[1]
    if heatmap_size is None or heatmap_size == own:
        return HeatmapPlan(32, own, own)
    if heatmap_size not in HEATMAP_SIZES:
        raise ChestxError(f"heatmap size {heatmap_size}: use one of "
                          f"{', '.join(map(str, HEATMAP_SIZES))}", remedies={"heatmap_size": None})
    strides = [s for s in OUTPUT_STRIDES if s * heatmap_size <= image_size]
    if not strides:
        raise ChestxError(f"heatmap size {heatmap_size} needs images of at least "
                          f"{8 * heatmap_size} px (stride 8); got images of {image_size} px",
                          remedies={"heatmap_size": None})
    stride = strides[0]
    if stride < 32 and backbone_family(name) is None:
        raise ChestxError(f"heatmap size {heatmap_size} at {image_size} px needs stride "
                          f"{stride}, and backbone {name} cannot be dilated (only ResNets, "
                          f"VGGs and DenseNets can); its own heatmaps are {own} x {own}",
                          remedies={"heatmap_size": None})
    side = own if stride == 32 else feature_size(name, image_size, stride)[1]
    if side < heatmap_size:
        raise ChestxError(f"heatmap size {heatmap_size}: backbone {name} gives only "
                          f"{side} x {side} at {image_size} px",
                          remedies={"heatmap_size": None})
    return HeatmapPlan(stride, side, heatmap_size)
