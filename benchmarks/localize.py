"""Cost of heatmaps + boxes over the bare forward pass, at each heatmap size S.

Target: localizing (forward with heatmaps, probabilities, one box per class for all 14
classes with the default generator) costs less than 20 % more than ``model(x)`` alone, for
the same model at each S = 8 / 16 / 32 (the backbone dilated to reach it, see
``chestx.models.backbones``). Both are timed in this run, interleaved, on the same random-init
network (ResNet-18 by default; weights do not change the cost), in a shuffled order each
round, and the fastest run of each compared (the CPU may be shared: the minimum is the least
disturbed estimate of the intrinsic cost). The paper's generator is timed beside it.

    .venv/bin/python benchmarks/localize.py [--backbone resnet50] [--size 256] [--repeats 5]
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
from chestx.localize.generators import DEFAULT_METHOD
from chestx.models import build_model

TARGET = 0.20


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _time_at(args, heatmap_size: int) -> tuple[float, dict[str, float], dict[str, int]]:
    """``(bare seconds, {variant: seconds}, {variant: boxes})`` at one heatmap size."""
    torch.manual_seed(0)
    model = build_model(args.backbone, 14, image_size=args.size,
                        heatmap_size=heatmap_size).eval()
    gray = np.random.default_rng(0).integers(0, 256, (args.size, args.size), dtype=np.uint8)
    x = to_tensor(gray, args.size)[None]

    def bare() -> None:
        with torch.inference_mode():
            model(x)

    variants = {f"{DEFAULT_METHOD} (default)": dict(method=DEFAULT_METHOD),
                "paper": dict(method="paper", work_size=256)}
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
    return (min(times["bare forward"]), {n: min(times[n]) for n in variants},
            {n: len(boxes[n][0].boxes) for n in variants})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sizes", default="8,16,32", help="heatmap sizes S to time")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"{args.backbone} at {args.size} px, {torch.get_num_threads()} threads, "
          f"fastest of {args.repeats}")
    worst = -1.0
    for heatmap_size in (int(s) for s in args.sizes.split(",")):
        base, costs, n_boxes = _time_at(args, heatmap_size)
        print(f"S = {heatmap_size}: {'bare forward':<22} {base:8.3f} s")
        for name, cost in costs.items():
            print(f"        {name:<22} {cost:8.3f} s  overhead {cost / base - 1:+7.1%}  "
                  f"({n_boxes[name]} boxes)")
        worst = max(worst, costs[f"{DEFAULT_METHOD} (default)"] / base - 1)
    verdict = "PASS" if worst < TARGET else "FAIL"
    print(f"{verdict}: largest default localization overhead {worst:+.1%} "
          f"(target < {TARGET:.0%} at every S)")
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
