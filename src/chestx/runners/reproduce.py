"""The paper's ablations (§4, Table 3 and Fig. 6) under one set of shared settings.

Grids (each value is one training run, then evaluation on the test part):

- ``backbones``: AlexNet, GoogLeNet, VGGNet-16, ResNet-50 (Table 3, upper half);
- ``losses``: CEL and W-CEL (Table 3, lower half; ``hinge``/``euclidean`` on request);
- ``pooling``: LSE with r in {0.1, 0.5, 1, 5, 8, 10, 12}, average and max (Fig. 6).

It sits above both :mod:`chestx.training` and :mod:`chestx.runners.evaluate`: each setting
is trained, then evaluated. Runs live in ``OUT/<grid>/<value>/`` (resumable: finished runs
are skipped, interrupted ones resumed); the table, in the paper's layout (one row per
setting, one column per finding, plus the mean), goes to ``OUT/<grid>/table.csv`` and ``table.md``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd

from chestx.atomic import atomic_open, atomic_write_text
from chestx.data.releases import data_options
from chestx.errors import ChestxError
from chestx.models.losses import PAPER_NAMES
from chestx.progress import stderr_console
from chestx.runners.evaluate import evaluate_checkpoint
from chestx.training.loop import train
from chestx.training.train_config import TrainConfig

#: grid -> the values it runs by default.
GRIDS: dict[str, tuple[str, ...]] = {
    "backbones": ("alexnet", "googlenet", "vgg16", "resnet50"),
    "losses": ("ce", "wce"),
    "pooling": ("lse:0.1", "lse:0.5", "lse:1", "lse:5", "lse:8", "lse:10", "lse:12", "avg",
                "max"),
}
_BACKBONE_NAMES = {"alexnet": "AlexNet", "googlenet": "GoogLeNet", "vgg16": "VGGNet-16",
                   "resnet50": "ResNet-50", "resnet18": "ResNet-18",
                   "densenet121": "DenseNet-121"}


def setting(grid: str, value: str) -> tuple[str, dict]:
    """``(row label, TrainConfig changes)`` of one grid value, e.g. ``lse:10`` ->
    ``("LSE r=10", {"pooling": "lse", "lse_r": 10.0})``."""
    if grid == "backbones":
        return _BACKBONE_NAMES.get(value, value), {"backbone": value}
    if grid == "losses":
        if value not in PAPER_NAMES:
            raise ChestxError(f"unknown loss {value!r} (use {', '.join(PAPER_NAMES)})")
        return PAPER_NAMES[value], {"loss": value}
    if grid == "pooling":
        kind, _, r = value.partition(":")
        if kind == "lse":
            try:
                return f"LSE r={r}", {"pooling": "lse", "lse_r": float(r or 10)}
            except ValueError as exc:
                raise ChestxError(f"bad pooling value {value!r} (use e.g. lse:10)") from exc
        if kind in ("avg", "max"):
            return {"avg": "Average", "max": "Max"}[kind], {"pooling": kind}
        raise ChestxError(f"unknown pooling {value!r} (use avg, max or lse:R)")
    raise ChestxError(f"unknown grid {grid!r} (use {', '.join(GRIDS)})")


def reproduce(base: TrainConfig, grid: str, out: str | os.PathLike,
              values: list[str] | None = None, eval_split: str = "test") -> pd.DataFrame:
    """Train and evaluate every value of ``grid`` with the settings of ``base``; return (and
    write) the table: one row per setting, per-finding test AUCs and their mean."""
    values = list(values or GRIDS.get(grid, ()))
    if grid not in GRIDS:
        raise ChestxError(f"unknown grid {grid!r} (use {', '.join(GRIDS)})")
    folder = Path(out) / grid
    rows = []
    for value in values:
        label, changes = setting(grid, value)
        run = folder / value.replace(":", "_r")
        auc_path = run / "eval" / "auc.csv"
        if not auc_path.is_file():
            config = replace(base, out=str(run), resume=True, **changes)
            if base.progress:
                stderr_console.print(f"[bold]{grid}: {label}[/bold] -> {run}")
            train(config)
            evaluate_checkpoint(run / "best.pt", base.data, run / "eval", split=eval_split,
                                device=base.device,
                                workers=0 if base.workers is None else base.workers,
                                use_cache=base.cache, progress=base.progress,
                                options=data_options(base))
        aucs = pd.read_csv(auc_path).set_index("finding")["auc"]
        rows.append({"Setting": label, **aucs.drop("mean").to_dict(), "mean": aucs["mean"]})
    table = pd.DataFrame(rows)
    with atomic_open(folder / "table.csv") as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    atomic_write_text(folder / "table.md", markdown_table(table))
    return table


def markdown_table(table: pd.DataFrame) -> str:
    """The table in the paper's layout (Table 3): ``|Setting|finding...|mean|``, 4 decimals,
    an undefined AUC as ``-``."""
    header = "|" + "|".join(table.columns) + "|"
    lines = [header, "|" + "|".join("---" for _ in table.columns) + "|"]
    for _, row in table.iterrows():
        cells = [str(row["Setting"])] + [
            "-" if pd.isna(v) else f"{v:.4f}" for v in row.drop("Setting")]
        lines.append("|" + "|".join(cells) + "|")
    return "\n".join(lines) + "\n"
