"""``chestx train`` and ``chestx reproduce``: options from
:class:`chestx.training.train_config.TrainConfig`, one field one option."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from chestx.cli.derive import configured
from chestx.cli.options import QuietAll, Threads, set_threads
from chestx.cli.output import print_table
from chestx.runners.runner_config import ReproduceGrid
from chestx.training.train_config import TrainConfig


@configured(TrainConfig)
def train_command(config: TrainConfig, threads: Threads = 0, quiet: QuietAll = False) -> None:
    """Train the paper's weakly-supervised multi-label classifier (§3.1, §4)."""
    from chestx.training import train

    set_threads(threads)
    result = train(config)
    best = (f"best mean val AUC {result.best_auc:.4f} at epoch {result.best_epoch}"
            if math.isfinite(result.best_auc) else
            f"no val AUC (no finding has both positives and negatives in val); best.pt is "
            f"epoch {result.best_epoch}")
    typer.echo(f"{best}; wrote {config.out}/best.pt, last.pt, metrics.csv")


@configured(ReproduceGrid, TrainConfig, skip=("resume",),
            defaults={"out": "reproduce", "classes": 8, "recipe": "paper"})
def reproduce_command(grid: ReproduceGrid, base: TrainConfig, threads: Threads = 0,
                      quiet: QuietAll = False) -> None:
    """Run the paper's ablations (Table 3 rows, Fig. 6) with shared settings."""
    from chestx.runners.reproduce import reproduce

    set_threads(threads)
    table = reproduce(base, grid.grid, base.out, grid.chosen())
    print_table(table, f"test AUC, grid {grid.grid}")
    typer.echo(f"wrote {Path(base.out) / grid.grid}/table.csv and table.md")
