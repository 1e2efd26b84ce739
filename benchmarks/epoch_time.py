"""Where an epoch of ``chestx train`` spends its time on this machine: loading (the
trainer's DataLoader and dataset), augmentation, forward, backward, optimizer step,
validation and checkpoint, each timed on its own with the trainer's own pieces.

    python benchmarks/epoch_time.py --n 200 --size 256 --batches 8 [--workers 0,2]

Prints seconds per training image for each phase and its share of the epoch (validation and
checkpoint spread over the training images of an epoch of the official split).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from chestx.models import build_model, get_loss
from chestx.models.checkpoint import save_checkpoint
from chestx.synth.cohort import synthesize
from chestx.training.augment import Augment
from chestx.training.distributed import Context
from chestx.training.loaders import image_dataset, split_ids
from chestx.training.loop import _loader
from chestx.training.train_config import TrainConfig
from chestx.training.validation import validate


def _phases(root: Path, size: int, batches: int, workers: int, batch_size: int = 16
            ) -> dict[str, float]:
    """Seconds per training image of each phase (validation/checkpoint: per epoch image)."""
    ids = split_ids(root)
    train_set = image_dataset(root, ids["train"], 14, size)
    val_set = image_dataset(root, ids["val"], 14, size)
    config = TrainConfig(data=str(root), out="", batch_size=batch_size, workers=workers)
    model = build_model("resnet18", 14, "lse", 10.0, image_size=size).to(
        memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn, augment = get_loss("ce"), Augment()
    generator = torch.Generator().manual_seed(0)
    times = dict.fromkeys(("loading", "augmentation", "forward", "backward", "optimizer"), 0.0)
    seen = 0
    started = time.perf_counter()
    for index, (images, labels) in enumerate(_loader(train_set, config, Context(), 1)):
        times["loading"] += time.perf_counter() - started
        if index == batches:
            break
        images = images.contiguous(memory_format=torch.channels_last)
        mark = time.perf_counter()
        augment(images, generator)
        times["augmentation"] += time.perf_counter() - mark
        mark = time.perf_counter()
        loss = loss_fn(model(images), labels)
        times["forward"] += time.perf_counter() - mark
        mark = time.perf_counter()
        loss.backward()
        times["backward"] += time.perf_counter() - mark
        mark = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times["optimizer"] += time.perf_counter() - mark
        seen += len(images)
        started = time.perf_counter()
    per_image = {name: value / seen for name, value in times.items()}
    mark = time.perf_counter()
    validate(model, val_set, "ce", batch_size, torch.device("cpu"), workers)
    per_image["validation"] = (time.perf_counter() - mark) / len(train_set)
    with tempfile.TemporaryDirectory() as tmp:
        mark = time.perf_counter()
        for name in ("best.pt", "last.pt"):
            save_checkpoint(Path(tmp) / name, model, 1, optimizer, [])
        per_image["checkpoint"] = (time.perf_counter() - mark) / len(train_set)
    return per_image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="Phantom folder (default: generate --n).")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=8, help="Training batches timed.")
    parser.add_argument("--workers", default="0,2", help="DataLoader workers to compare.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or synthesize(Path(tmp) / "data", n=args.n, size=args.size, seed=0)
        for workers in (int(w) for w in args.workers.split(",")):
            phases = _phases(root, args.size, args.batches, workers)
            total = sum(phases.values())
            print(f"workers {workers}, {torch.get_num_threads()} threads, {args.size} px: "
                  f"{1 / total:.2f} train images/s overall")
            for name, seconds in phases.items():
                print(f"  {name:<13}{seconds * 1000:8.1f} ms/image {seconds / total:7.1%}")


if __name__ == "__main__":
    main()
