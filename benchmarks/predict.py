"""CPU inference speed: PyTorch vs the exported ONNX model (onnxruntime), in the same run.

Measures single-image latency (median of N runs at batch 1) and batch throughput (images/s
at --batch), for logits AND heatmaps (what ``chestx predict``/``serve`` compute), and checks
that both engines agree. Both use the same number of threads.

    python benchmarks/predict.py                                  # random ResNet-50 at 224 px
    python benchmarks/predict.py --checkpoint runs/demo/best.pt   # a trained model
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _time(fn, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="RUN/best.pt (default: a random-init model)")
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs at batch 1")
    parser.add_argument("--batch-repeats", type=int, default=3, help="timed runs at --batch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()

    import onnxruntime as ort

    from chestx.inference.export import export_onnx
    from chestx.models import build_model, load_checkpoint

    torch.set_num_threads(args.threads)
    if args.checkpoint:
        model = load_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(0)
        model = build_model(args.backbone, image_size=args.image_size).eval()
    size = int(model.config.image_size)
    print(f"model: {model.config.backbone} at {size} px, {len(model.classes)} classes; "
          f"{args.threads} threads; torch {torch.__version__}, onnxruntime {ort.__version__}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        start = time.perf_counter()
        export_onnx(model, path)
        print(f"export: {time.perf_counter() - start:.1f} s, "
              f"{path.stat().st_size / 2**20:.1f} MB")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        generator = torch.Generator().manual_seed(0)
        one = torch.rand(1, 1, size, size, generator=generator)
        many = torch.rand(args.batch, 1, size, size, generator=generator)

        def torch_run(x):
            with torch.inference_mode():
                return model.forward_heatmaps(x)

        def ort_run(x):
            return session.run(None, {"images": x.numpy()})

        got, want = ort_run(many), torch_run(many)
        for name, a, b in zip(("logits", "heatmaps"), got, want, strict=True):
            b = b.numpy()
            print(f"{name}: max |onnx - torch| = {np.abs(a - b).max():.2e} "
                  f"(values up to {np.abs(b).max():.2e})")

        rows = []
        for name, run in [("pytorch", torch_run), ("onnxruntime", ort_run)]:
            latency = statistics.median(_time(lambda run=run: run(one), args.repeats))
            batch = statistics.median(_time(lambda run=run: run(many), args.batch_repeats, 1))
            rows.append((name, latency, args.batch / batch))
        header = f"throughput (batch {args.batch})"
        print(f"\n{'engine':<12} {'latency (1 image)':>18} {header:>24}")
        for name, latency, throughput in rows:
            print(f"{name:<12} {latency * 1000:>15.1f} ms {throughput:>17.1f} img/s")
        (_, t_lat, t_thr), (_, o_lat, o_thr) = rows
        print(f"\nonnxruntime vs pytorch: latency x{t_lat / o_lat:.2f} faster, "
              f"throughput x{o_thr / t_thr:.2f}")


if __name__ == "__main__":
    main()
