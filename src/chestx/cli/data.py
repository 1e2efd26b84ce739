"""``chestx split``, ``stats`` and ``cache``: a dataset in the NIH layout (split and stats read
the CSV alone and never import torch)."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet
from chestx.data.dataset_config import CacheConfig, SplitConfig, StatsConfig


@configured(SplitConfig)
def split_command(config: SplitConfig) -> None:
    """Split a dataset patient-wise into train/val/test lists (from the CSV alone)."""
    from chestx.data.nih import read_data_entry
    from chestx.data.splits import make_split, parse_ratios, split_summary, write_split

    entries = read_data_entry(config.data)
    root = config.data if config.data.is_dir() else config.data.parent
    split = make_split(entries, mode="official" if config.official else "random",
                       seed=config.seed, ratios=parse_ratios(config.ratios), root=root)
    write_split(split, config.out)
    summary = split_summary(split, entries)
    for part, row in summary.iterrows():
        typer.echo(f"{part:<6}{int(row['images']):>9,} images ({row['share']:6.1%})"
                   f"{int(row['patients']):>8,} patients")
    typer.echo(f"wrote {config.out}/train.txt, val.txt, test.txt")


@configured(StatsConfig)
def stats_command(config: StatsConfig) -> None:
    """Label statistics as in the paper's Table 16 (count and overlap per finding)."""
    import json

    from chestx.data.nih import read_data_entry
    from chestx.data.stats import dataset_stats, format_table, plot_cooccurrence

    entries = read_data_entry(config.data)
    stats = dataset_stats(entries)
    typer.echo(json.dumps(stats, indent=2) if config.as_json else format_table(stats))
    if config.plot is not None:
        plot_cooccurrence(entries, config.plot)
        typer.echo(f"wrote {config.plot}", err=config.as_json)


@configured(CacheConfig)
def cache_command(config: CacheConfig, quiet: Quiet = False) -> None:
    """Decode and resize every image once into a memory-mapped uint8 array for training."""
    from chestx.data.cache import build_cache

    report = build_cache(config.data, config.size, config.out, workers=config.workers,
                         progress=not quiet)
    for name, problem in report.bad:
        typer.echo(f"skipped {name}: {problem}", err=True)
    typer.echo(f"cached {report.n_images} images at {config.size} px in {report.path}"
               + (f" ({len(report.bad)} skipped)" if report.bad else ""))
