"""Cost of heatmaps + boxes over the bare forward pass, for one 1024-px image.

Target: localizing (forward with heatmaps, probabilities, boxes for every class) costs less
than 20 % more than ``model(x)`` alone. Both are timed in this run, interleaved, on the same
random-init network (ResNet-18 at 1024 px by default; weights do not change the cost), in a
shuffled order each round, and the fastest run of each compared (the CPU may be shared: the
minimum is the least disturbed estimate of the intrinsic cost).

    .venv/bin/python benchmarks/localize.py [--backbone resnet50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from chestx.data.tensors import to_tensor
from chestx.findings import FINDINGS
from chestx.inference.forward import localize_images
from chestx.models import build_model

TARGET = 0.20


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = build_model(args.backbone, 14, image_size=args.size).eval()
    gray = np.random.default_rng(0).integers(0, 256, (args.size, args.size), dtype=np.uint8)
    x = to_tensor(gray, args.size)[None]

    def bare() -> None:
        with torch.inference_mode():
            model(x)

    variants = {
        "peak (default), 14 classes": dict(method="peak"),
        "paper, 14 classes, full-size maps": dict(method="paper"),
        "paper, 14 classes, work_size=256": dict(method="paper", work_size=256),
    }
    boxes = {}

    def localize(name: str) -> None:
        boxes[name] = localize_images(model, [gray], findings=list(FINDINGS), **variants[name])

    jobs = {"bare forward": bare} | {name: (lambda n=name: localize(n)) for name in variants}
    for job in jobs.values():
        job()  # warm-up (allocations, kernels, lazy imports)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    rng = random.Random(0)
    for _ in range(args.repeats):
        for name in rng.sample(list(jobs), len(jobs)):
            times[name].append(_seconds(jobs[name]))
    base = min(times["bare forward"])
    print(f"{args.backbone} at {args.size} px, {torch.get_num_threads()} threads, "
          f"fastest of {args.repeats}")
    print(f"  {'bare forward':<36} {base:8.3f} s")
    for name in variants:
        cost = min(times[name])
        n_boxes = len(boxes[name][0].boxes)
        print(f"  {name:<36} {cost:8.3f} s  overhead {cost / base - 1:+7.1%}  ({n_boxes} boxes)")
    overhead = min(times["peak (default), 14 classes"]) / base - 1
    verdict = "PASS" if overhead < TARGET else "FAIL"
    print(f"{verdict}: default localization overhead {overhead:+.1%} (target < {TARGET:.0%})")
    return 0 if overhead < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
