"""``chestx train`` with its defaults against a bare torchvision loop, same images and epochs.

Both train a ResNet-18 from scratch on ``chestx synth`` phantoms (the official split from the
generated lists) and are scored by the mean test ROC AUC over the planted findings.

- baseline: the loop a user would write in 30 lines: PNGs read with Pillow, torchvision's
  resnet18 with a 1-channel conv1, BCE, SGD lr 0.01 momentum 0.9 weight decay 1e-4, batches
  of 16, no augmentation, constant rate; no validation, no checkpoints.
- chestx: ``chestx train --data D --out R --backbone resnet18 --image-size S
  --no-pretrained --device cpu --epochs E`` (all else default), then ``chestx evaluate``.
  Its time is the whole command: data path, validation every epoch and checkpoints included.

Prints both AUCs, both training speeds (train images x epochs / seconds) and the ratios
chestx / baseline (targets: AUC ratio >= 1.0, speed ratio >= 0.9).

    python benchmarks/recipe.py                     # the judged setting: 600 at 256 px, 10 epochs
    python benchmarks/recipe.py --size 128          # a quarter of the time (about 3.5 min)
    python benchmarks/recipe.py --n 300 --epochs 6  # a smoke run

At 128 px an epoch takes about 8 s on a 2-core CPU and the trainer's fixed costs (process
start, a validation and two checkpoint writes an epoch) weigh more than at 256 px.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchvision
from PIL import Image
from sklearn.metrics import roc_auc_score

from chestx.findings import FINDINGS
from chestx.synth.cohort import PLANTED_FINDINGS, synthesize
from chestx.training.loaders import split_ids


def _load(root: Path, ids: list[str], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 1, size, size) in [0, 1], labels (N, 14))`` read with Pillow."""
    entries = pd.read_csv(root / "Data_Entry_2017.csv").set_index("Image Index")
    images, labels = [], []
    for image_id in ids:
        image = Image.open(root / "images" / image_id).convert("L")
        if image.size != (size, size):
            image = image.resize((size, size), Image.BILINEAR)
        images.append(torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0))
        found = str(entries.loc[image_id, "Finding Labels"]).split("|")
        labels.append(torch.tensor([float(name in found) for name in FINDINGS]))
    return torch.stack(images)[:, None], torch.stack(labels)


def _mean_planted_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    aucs = [roc_auc_score(labels[:, i], scores[:, i]) for i, name in enumerate(FINDINGS)
            if name in PLANTED_FINDINGS and 0 < labels[:, i].sum() < len(labels)]
    return float(np.mean(aucs))


def baseline(root: Path, size: int, epochs: int, seed: int = 0) -> tuple[float, float]:
    """The bare loop: ``(mean test AUC over the planted findings, train images/s)``."""
    torch.manual_seed(seed)
    ids = split_ids(root)
    started = time.perf_counter()
    images, labels = _load(root, ids["train"], size)
    net = torchvision.models.resnet18(num_classes=len(FINDINGS))
    net.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(order) - 1, 16):  # no batch of one (BatchNorm)
            batch = order[start:start + 16]
            optimizer.zero_grad()
            loss_fn(net(images[batch]), labels[batch]).backward()
            optimizer.step()
    speed = len(images) * epochs / (time.perf_counter() - started)
    test_images, test_labels = _load(root, ids["test"], size)
    net.eval()
    with torch.no_grad():
        scores = torch.cat([net(test_images[i:i + 32]) for i in range(0, len(test_images), 32)])
    return _mean_planted_auc(test_labels.numpy(), scores.numpy()), speed


def chestx_defaults(root: Path, size: int, epochs: int, work: Path) -> tuple[float, float]:
    """``chestx train`` with its defaults, then ``chestx evaluate``: ``(AUC, images/s)``."""
    cli = [sys.executable, "-m", "chestx.cli"]
    run, scored = work / "run", work / "eval"
    started = time.perf_counter()
    subprocess.run([*cli, "train", "--data", str(root), "--out", str(run), "--backbone",
                    "resnet18", "--image-size", str(size), "--no-pretrained", "--device", "cpu",
                    "--epochs", str(epochs), "-q"], check=True)
    seconds = time.perf_counter() - started
    subprocess.run([*cli, "evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(root),
                    "--out", str(scored), "-q"], check=True, stdout=subprocess.DEVNULL)
    predictions = pd.read_csv(scored / "predictions.csv").set_index("Image Index")
    entries = pd.read_csv(root / "Data_Entry_2017.csv").set_index("Image Index")
    found = entries.loc[predictions.index, "Finding Labels"].astype(str).str.split("|")
    labels = np.array([[float(name in f) for name in FINDINGS] for f in found])
    train_images = len(split_ids(root)["train"])
    return (_mean_planted_auc(labels, predictions[list(FINDINGS)].to_numpy()),
            train_images * epochs / seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="An existing phantom folder (else --n/--size "
                        "phantoms are generated in a temporary folder).")
    parser.add_argument("--n", type=int, default=600, help="Phantoms to generate.")
    parser.add_argument("--size", type=int, default=256, help="Image side (both runs).")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = args.data or synthesize(work / "data", n=args.n, size=args.size, seed=args.seed)
        print(f"{root}: {len(split_ids(root)['train'])} train images, {args.size} px, "
              f"{args.epochs} epochs, {torch.get_num_threads()} threads, {os.cpu_count()} cpus")
        base_auc, base_speed = baseline(root, args.size, args.epochs, args.seed)
        print(f"baseline (bare torchvision loop): test AUC {base_auc:.4f}, "
              f"{base_speed:.2f} train images/s")
        ours_auc, ours_speed = chestx_defaults(root, args.size, args.epochs, work)
        print(f"chestx train (defaults):          test AUC {ours_auc:.4f}, "
              f"{ours_speed:.2f} train images/s")
        print(f"AUC ratio {ours_auc / base_auc:.3f} (target >= 1.0), "
              f"speed ratio {ours_speed / base_speed:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
