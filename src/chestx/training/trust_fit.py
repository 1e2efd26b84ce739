"""Adding the trust record (:mod:`chestx.trust`) to a checkpoint: the end of ``chestx train``
and ``chestx calibrate --checkpoint CK --data D``.

The checkpoint's model runs over the training, validation and test images of the split it was
trained on (its ``train_config``'s split mode and seed; the same held-out parts); the pooled
features and logits are caught on the way (:func:`chestx.trust.features.capture`), then
:func:`chestx.trust.fit.fit_trust` fits the record, which is written back into the
checkpoint (atomically, every other key kept).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from chestx.data.releases import DataOptions, open_dataset
from chestx.models import ChestXNet
from chestx.models.checkpoint import model_from_state, update_checkpoint
from chestx.models.state import read_checkpoint
from chestx.synth.cohort import MANIFEST
from chestx.training.distributed import resolve_device
from chestx.training.loaders import image_dataset, split_ids
from chestx.training.validation import predict
from chestx.trust.features import capture
from chestx.trust.fit import Outputs, fit_trust
from chestx.trust.state import TRUST_KEY, TrustState
from chestx.trust.trust_config import DEFAULT_OPERATING_POINT, OOD_QUANTILE, CalibrateConfig


@dataclass
class Calibration:
    """What :func:`calibrate_checkpoint` did: the record and the images of each part."""

    state: TrustState
    path: Path
    images: dict[str, int]


def model_outputs(model: ChestXNet, dataset: Dataset, batch_size: int = 16,
                  device: torch.device | str = "cpu", workers: int = 0) -> Outputs:
    """Pooled features, logits and labels of ``model`` over ``dataset`` (one pass)."""
    with capture(model) as caught:
        _, labels, ids, logits = predict(model, dataset, batch_size, device, workers)
    features, _ = caught.arrays()
    return Outputs(features, logits.astype(np.float64), labels, ids, caught.layout)


def data_summary(data: str | os.PathLike, ids: dict[str, list[str]], mode: str, seed: int,
                 options: DataOptions | None = None) -> dict:
    """Dataset, split and per-part image and patient counts, for the model card."""
    release = open_dataset(data, options)
    entries = release.entries.set_index("Image Index")
    summary = {"dataset": str(Path(data).resolve()), "release": release.name,
               "split": mode, "seed": int(seed),
               "synthetic": (Path(data) / MANIFEST).is_file()}
    for part, names in ids.items():
        known = entries.reindex([n for n in names if n in entries.index])
        summary[f"{part}_images"] = len(names)
        summary[f"{part}_patients"] = int(known["Patient ID"].nunique())
    return summary


def calibrate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike,
                         operating_point: str = DEFAULT_OPERATING_POINT,
                         detector: str | None = None, quantile: float = OOD_QUANTILE,
                         batch_size: int = 16, device: torch.device | str = "cpu",
                         workers: int = 0, use_cache: bool = True,
                         cache_dir: str | os.PathLike | None = None,
                         options: DataOptions | None = None) -> Calibration:
    """Fit the trust record of ``checkpoint`` on dataset ``data`` (its images from the cache
    in ``cache_dir`` when given and ``use_cache``; release ``options`` as trained) and store
    it in the file."""
    path = Path(checkpoint)
    state = read_checkpoint(path)
    model = model_from_state(state, path).to(device)
    trained = state.get("train_config") or {}
    mode, seed = trained.get("split", "official"), int(trained.get("seed", 0))
    ids = split_ids(data, mode, seed, options)
    size, classes = model.config.image_size, len(model.classes)
    outputs = {part: model_outputs(model, image_dataset(data, names, classes, size, use_cache,
                                                        cache_dir, options=options),
                                          batch_size, device, workers)
               for part, names in ids.items() if names}
    record = fit_trust(model.classes, outputs["train"], outputs["val"], outputs.get("test"),
                       detector, quantile, operating_point,
                       data_summary(data, ids, mode, seed, options))
    update_checkpoint(path, **{TRUST_KEY: record.to_dict()})
    return Calibration(record, path, {part: len(o.logits) for part, o in outputs.items()})


def trust_line(done: Calibration) -> str:
    """One line: what :func:`calibrate_checkpoint` fitted, on how many images."""
    state, images = done.state, done.images
    fitted = sum(abs(t - 1.0) > 1e-9 for t in state.temperatures)
    return (f"trust: {state.detector} statistics on {images.get('train', 0)} training images, "
            f"out-of-distribution threshold {state.ood_threshold:.4g} at the "
            f"{state.ood_quantile:g} quantile of {images.get('val', 0)} validation images' "
            f"scores; {fitted} temperatures and {state.operating_point} thresholds fitted on "
            f"them; written to {done.path}")


def calibrate_from(config: CalibrateConfig) -> Calibration:
    """:func:`calibrate_checkpoint` with the settings of ``chestx calibrate``."""
    return calibrate_checkpoint(config.checkpoint, config.data, config.operating_point,
                                config.detector, config.quantile, config.batch_size,
                                resolve_device(config.device))


def calibration_lines(done: Calibration) -> list[str]:
    """What ``chestx calibrate`` prints: :func:`trust_line`, then the mean ECE before and after
    calibration and the share flagged on the test images (when the split has them)."""
    lines = [trust_line(done)]
    test = done.state.metrics.get("test")
    if test:
        findings = test["findings"].values()
        before = [f["ece_before"] for f in findings if np.isfinite(f["ece_before"])]
        after = [f["ece_after"] for f in findings if np.isfinite(f["ece_after"])]
        if before and after:
            lines.append(f"test ({test['images']} images): mean ECE {np.mean(before):.4f} -> "
                         f"{np.mean(after):.4f}; {test['flagged']:.1%} flagged out of "
                         "distribution")
    return lines
