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
"""

from __future__ import annotations

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
    if spec.torchvision_name.startswith(("resnet", "resnext", "wide_resnet")):
        # from scratch, each residual block starts as the identity (Goyal et al. 2017):
        # noticeably faster early training; pretrained weights overwrite it anyway
        return {} if pretrained else {"zero_init_residual": True}
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
            f"{reason}); use --weights PATH (a torchvision state dict) or --no-pretrained"
        ) from exc


def build_backbone(name: str, pretrained: bool = False) -> nn.Module:
    """The convolutional part of torchvision's ``name``: ``(N, 3, H, W) -> (N, D, S, S)``."""
    return cut_backbone(backbone_spec(name), torchvision_network(name, pretrained))


def feature_size(name: str, image_size: int) -> tuple[int, int]:
    """``(D, S)``: channels and side of the backbone's output for a square ``image_size``
    input, computed on the meta device (no memory, no arithmetic)."""
    with torch.device("meta"):
        out = build_backbone(name).eval()(torch.empty(1, 3, image_size, image_size))
    if out.ndim != 4:
        raise ChestxError(f"backbone {name!r} does not give spatial features (shape "
                          f"{tuple(out.shape)})")
    return int(out.shape[1]), int(out.shape[-1])
