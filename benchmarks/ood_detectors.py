"""Out-of-distribution detectors side by side: the share of clearly foreign images each flags
against the share of new images of the training distribution.

Every detector of :data:`chestx.trust.detectors.DETECTORS` is fitted on the checkpoint's
training images and thresholded at the quantile (default 0.99) of its validation images'
scores, as ``chestx calibrate`` does; then scored on

- ``--new``: a fresh dataset of the training generator (e.g. ``chestx synth --seed 7``), all
  of its images (ideally flagged: none; the judged limit: 2 of 40);
- ``--foreign``: image files or folders, each file its own row (noise, a page of text, a
  synthetic scene, real NIH radiographs), flagged by the detector alone and with the input
  checks (what ``chestx predict`` reports).

    python benchmarks/ood_detectors.py --checkpoint RUN/best.pt --data TRAIN_DATA \\
        --new NEW_DATA --foreign FOREIGN_DIR /work/shared/data/nih/images

Prints a Markdown table (docs/trust.md keeps the measured one).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from chestx.data.images import read_gray
from chestx.data.nih import read_data_entry
from chestx.data.tensors import to_tensor
from chestx.inference.predictor import collect_images
from chestx.models.checkpoint import model_from_state
from chestx.models.state import read_checkpoint
from chestx.training.loaders import image_dataset, split_ids
from chestx.training.trust_fit import model_outputs
from chestx.trust.checks import check_image, chroma
from chestx.trust.detectors import DETECTORS, OOD_QUANTILE, build_detector, quantile_threshold
from chestx.trust.features import capture


@torch.no_grad()
def file_outputs(model, paths: list[Path]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Features ``(N, F)``, logits ``(N, C)`` and input-check reasons of image files."""
    reasons = []
    with capture(model) as caught:
        for path in paths:
            gray = read_gray(path)
            model(to_tensor(gray, model.config.image_size)[None])
            reasons.append(check_image(gray, chroma(path)))
    features, logits = caught.arrays()
    return features, logits, reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True, help="the dataset the model was trained on")
    parser.add_argument("--new", required=True, help="a fresh dataset of the same generator")
    parser.add_argument("--foreign", nargs="+", default=[], help="foreign files or folders")
    parser.add_argument("--quantile", type=float, default=OOD_QUANTILE)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    state = read_checkpoint(args.checkpoint)
    model = model_from_state(state, args.checkpoint).eval()
    trained = state.get("train_config") or {}
    ids = split_ids(args.data, trained.get("split", "official"), int(trained.get("seed", 0)))
    size, classes = model.config.image_size, len(model.classes)
    train, val = (model_outputs(model, image_dataset(args.data, ids[p], classes, size))
                  for p in ("train", "val"))
    new_ids = read_data_entry(args.new)["Image Index"].tolist()
    new = model_outputs(model, image_dataset(args.new, new_ids, classes, size))
    foreign = collect_images(args.foreign)
    f_features, f_logits, f_reasons = file_outputs(model, foreign) if foreign else (
        None, None, [])
    names = DETECTORS.names()
    print(f"{len(train.logits)} training, {len(val.logits)} validation images; threshold at "
          f"the {args.quantile:g} quantile of the validation scores\n")
    print("| images | " + " | ".join(f"{n} score (threshold)" for n in names)
          + " | input checks |")
    print("|---|" + "---:|" * len(names) + "---|")
    detectors = {n: build_detector(n).fit(train.features, train.logits, train.layout)
                 for n in names}
    limits = {n: quantile_threshold(d.score(val.features, val.logits), args.quantile)
              for n, d in detectors.items()}
    cells = [f"{limits[n]:.4g}" for n in names]
    print("| threshold | " + " | ".join(cells) + " | |")
    for label, outputs in (("validation", val), (f"new phantoms ({Path(args.new).name})", new)):
        flagged = [int(np.sum(detectors[n].score(outputs.features, outputs.logits) > limits[n]))
                   for n in names]
        print(f"| {label}: flagged of {len(outputs.logits)} | "
              + " | ".join(str(f) for f in flagged) + " | |")
    for i, path in enumerate(foreign):
        cells = []
        for n in names:
            score = float(detectors[n].score(f_features[i:i + 1], f_logits[i:i + 1])[0])
            cells.append(f"{score:.4g} {'FLAGGED' if score > limits[n] else 'passed'}")
        print(f"| {path.name} | " + " | ".join(cells) + f" | {'; '.join(f_reasons[i]) or '-'} |")


if __name__ == "__main__":
    main()
