"""Reading torch files: :func:`read_checkpoint` (any chestx checkpoint dict) and
:func:`load_weights` (start a model from a checkpoint or a torchvision state dict).

Apart from :mod:`chestx.models.checkpoint` (which rebuilds models from checkpoints) so that
:func:`chestx.models.build_model` can start from ``weights`` without a cycle.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from chestx.errors import ChestxError
from chestx.models.backbones import backbone_spec, cut_backbone, torchvision_network

#: torchvision keys of classifier heads, which a backbone-only load ignores: missing ones
#: (our network is built without them) and present ones (torchvision's ImageNet files of
#: GoogLeNet and Inception-v3 carry their auxiliary heads aux1/aux2 and AuxLogits).
_HEAD_PREFIXES = ("fc.", "classifier.", "aux1.", "aux2.", "AuxLogits.", "head.", "heads.")


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint dict; :class:`ChestxError` naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ChestxError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError) as exc:
        raise ChestxError(f"{path}: not a readable torch checkpoint "
                          f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                          ) from exc
    if not isinstance(state, dict):
        raise ChestxError(f"{path}: not a checkpoint (a {type(state).__name__})")
    return state


def _strip_prefix(state: dict) -> dict:
    # DistributedDataParallel / DataParallel save their keys under "module.".
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Initialize ``model`` from ``path``: a chestx checkpoint (every tensor whose name and
    shape match is copied, so a 14-class run can start an 8-class one) or a torchvision state
    dict of the backbone's network (e.g. ``resnet50-0676ba61.pth``; its classifier and, for
    GoogLeNet / Inception-v3, its auxiliary heads are ignored)."""
    path = Path(path)
    state = read_checkpoint(path)
    state = _strip_prefix(state.get("model_state", state))
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ChestxError(f"{path}: not a state dict of tensors")
    if any(k.startswith("backbone.") for k in state):
        own = model.state_dict()
        matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        backbone_keys = [k for k in own if k.startswith("backbone.")]
        missing = [k for k in backbone_keys if k not in matched]
        if missing:
            raise ChestxError(f"{path}: weights do not fit backbone "
                              f"{model.config.backbone} (e.g. {missing[0]})")
        model.load_state_dict(matched, strict=False)
        return model
    name = model.config.backbone
    network = torchvision_network(name)
    body = {k: v for k, v in state.items() if not k.startswith(_HEAD_PREFIXES)}
    result = network.load_state_dict(body, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(_HEAD_PREFIXES)]
    if missing or result.unexpected_keys or not body:
        example = (missing or result.unexpected_keys or ["(no backbone tensors)"])[0]
        raise ChestxError(f"{path}: not a torchvision state dict of {name} "
                          f"(e.g. {'missing' if missing else 'unexpected'} key {example})")
    model.backbone.load_state_dict(cut_backbone(backbone_spec(name), network).state_dict())
    return model
