"""Serving a checkpoint: load it into a :class:`~chestx.inference.Predictor`, summarize the
model for ``GET /api/model``, and run the app with uvicorn.

By default it listens on 127.0.0.1 only: X-rays are patient data, and exposing them on
the network is a decision the user has to make explicitly (``--host 0.0.0.0``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from chestx.errors import ChestxError
from chestx.inference import Predictor
from chestx.localize.sources import DEFAULT_SOURCE
from chestx.models import read_checkpoint
from chestx.serve.app import DEFAULT_MAX_UPLOAD_MB, ServeSettings, create_app
from chestx.trust.card import model_card
from chestx.trust.state import TRUST_KEY

#: Checkpoint config keys shown by ``GET /api/model`` besides the classes and image size.
CONFIG_KEYS = ("backbone", "pooling", "lse_r", "loss", "transition_channels", "heatmap_size",
               "mean", "std")

#: Entries of the trainer's ``train_config`` that say what the model was trained on.
TRAINING_KEYS = ("data", "split", "seed", "epochs", "max_train_images", "loss", "batch_size",
                 "iter_size", "lr", "pretrained", "weights", "augment")


def _plain(value):
    """``value`` with tensors/arrays turned into lists and non-finite floats into None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def model_info(checkpoint: str | os.PathLike, model: torch.nn.Module) -> dict:
    """What ``GET /api/model`` reports: architecture, classes, image size, and what the
    checkpoint says about its training (data, split, epochs, best validation AUC, and the
    metrics of the last epoch)."""
    config = model.config.to_dict()
    saved = read_checkpoint(checkpoint)
    metrics = saved.get("metrics") or {}
    if isinstance(metrics, list):  # one dict per epoch: report the last one
        metrics = metrics[-1] if metrics else {}
    train_config = saved.get("train_config") or {}
    training = {key: _plain(train_config[key]) for key in TRAINING_KEYS if key in train_config}
    for key in ("best_auc", "best_epoch"):
        if key in saved:
            training[key] = _plain(saved[key])
    info = {
        "checkpoint": Path(checkpoint).name,
        "classes": list(config.get("classes", [])),
        "image_size": config.get("image_size"),
        **{key: _plain(config[key]) for key in CONFIG_KEYS if key in config},
        "epoch": _plain(saved.get("epoch")),
        "chestx_version": _plain(saved.get("chestx_version")),
        "training": training,
        "last_epoch_metrics": _plain(metrics) if isinstance(metrics, dict) else {},
    }
    info["training_summary"] = training_summary(info)
    return info


def training_summary(info: dict) -> str:
    """One line for people, e.g. ``resnet50 at 224 px; trained 3 epochs on nih (official
    split); best val AUC 0.7812 (epoch 2)``."""
    parts = [f"{info.get('backbone', 'model')} at {info.get('image_size')} px"]
    training = info.get("training", {})
    if info.get("epoch") is not None:
        trained = f"trained {info['epoch']} epoch{'' if info['epoch'] == 1 else 's'}"
        if training.get("data"):
            trained += f" on {Path(str(training['data'])).name}"
            if training.get("split"):
                trained += f" ({training['split']} split)"
        parts.append(trained)
    if isinstance(training.get("max_train_images"), int):
        parts.append(f"at most {training['max_train_images']} training images")
    auc = training.get("best_auc", info.get("last_epoch_metrics", {}).get("val_auc"))
    if isinstance(auc, (int, float)):
        best = training.get("best_epoch")
        parts.append(f"best val AUC {auc:.4f}" + (f" (epoch {best})" if best else ""))
    return "; ".join(parts)


def load_app(checkpoint: str | os.PathLike, threshold: float | None = None,
             max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, max_results: int = 64,
             heatmap: str = DEFAULT_SOURCE, heatmap_size: int | None = None,
             operating_point: str | None = None):
    """Load ``checkpoint`` and build the app (boxes for every finding, for the viewer), with
    heatmap source ``heatmap`` at heatmap side ``heatmap_size`` (``None``: see
    :meth:`chestx.inference.Predictor.from_checkpoint`) and the box extent the checkpoint
    stores; ``threshold`` for every finding, else the per-finding ones of ``operating_point``
    (default: the checkpoint's). The model card is served when the checkpoint has a trust
    record."""
    if not Path(checkpoint).is_file():
        raise ChestxError(f"{checkpoint}: checkpoint not found")
    if max_upload_mb <= 0:
        raise ChestxError(f"the upload limit must be positive, got {max_upload_mb} MB",
                          remedies={"max_upload_mb": None})
    predictor = Predictor.from_checkpoint(checkpoint, threshold=threshold, boxes_for="all",
                                          heatmap=heatmap, heatmap_size=heatmap_size,
                                          operating_point=operating_point)
    settings = ServeSettings(max_upload_bytes=int(max_upload_mb * 2**20),
                             max_results=max_results)
    saved = read_checkpoint(checkpoint)
    card = model_card(saved, Path(checkpoint).name) if saved.get(TRUST_KEY) else None
    return create_app(predictor, model_info(checkpoint, predictor.model), settings, card)


def run_server(app, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
