"""Train and inference throughput (images/s) of chestx models per backbone and input size,
against the bare torchvision classifier measured in the same run.

    .venv/bin/python benchmarks/train.py [--backbones resnet18,resnet50] [--sizes 224,512]
        [--batch 4] [--iters 3] [--device auto] [--threads 0]

Ratios > 1 mean chestx is faster than the baseline; the transition layer, LSE pooling and
the heatmap-ready head cost a few percent. Random weights (throughput does not depend on them).
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision

from chestx.models import build_model
from chestx.models.backbones import backbone_spec


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(step, batch: int, iters: int, device: torch.device) -> float:
    step()  # warm-up (allocations, cuDNN/oneDNN algorithm choice)
    _sync(device)
    started = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return batch * iters / (time.perf_counter() - started)


def measure(model: torch.nn.Module, images: torch.Tensor, iters: int,
            device: torch.device) -> tuple[float, float]:
    """(train images/s, inference images/s) of ``model`` on ``images``."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        out = model(images)
        torch.nn.functional.binary_cross_entropy_with_logits(out, torch.zeros_like(out)
                                                             ).backward()
        optimizer.step()

    @torch.no_grad()
    def infer_step():
        model.eval()
        model(images)

    batch = images.shape[0]
    return _rate(train_step, batch, iters, device), _rate(infer_step, batch, iters, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="resnet18,resnet50")
    parser.add_argument("--sizes", default="224,512")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.iters} timed iterations")
    print(f"{'backbone':<12}{'size':>5}  {'train img/s':>12}{'baseline':>10}{'ratio':>7}"
          f"  {'infer img/s':>12}{'baseline':>10}{'ratio':>7}")
    for name in args.backbones.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            torch.manual_seed(0)
            gray = torch.rand(args.batch, 1, size, size, device=device)
            ours = build_model(name, num_classes=14, image_size=size).to(device)
            train_ours, infer_ours = measure(ours, gray, args.iters, device)
            del ours
            # baseline: the full torchvision classifier on the same pixels as 3 channels
            spec = backbone_spec(name)
            bare = torchvision.models.get_model(spec.torchvision_name, weights=None,
                                                **({"aux_logits": False, "init_weights": False}
                                                   if name in ("googlenet", "inception_v3")
                                                   else {})).to(device)
            rgb = gray.expand(-1, 3, -1, -1).contiguous()
            train_bare, infer_bare = measure(bare, rgb, args.iters, device)
            del bare
            print(f"{name:<12}{size:>5}  {train_ours:>12.2f}{train_bare:>10.2f}"
                  f"{train_ours / train_bare:>7.2f}  {infer_ours:>12.2f}{infer_bare:>10.2f}"
                  f"{infer_ours / infer_bare:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
