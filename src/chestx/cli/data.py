"""``chestx split``, ``stats`` and ``cache``: a dataset in the NIH layout or a public release
(split and stats read the metadata alone and never import torch)."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet
from chestx.cli.output import report_release
from chestx.data.dataset_config import CacheConfig, SplitConfig, StatsConfig


@configured(SplitConfig)
def split_command(config: SplitConfig) -> None:
    """Split a dataset patient-wise into train/val/test lists (from the metadata alone)."""
    from chestx.data.releases import data_options, open_dataset
    from chestx.data.splits import parse_ratios, release_split, split_summary, write_split

    ratios = parse_ratios(config.ratios)  # a bad --ratios fails before the data is read
    release = open_dataset(config.data, data_options(config))
    report_release(release)
    split = release_split(release, mode=config.mode(release.name), seed=config.seed,
                          ratios=ratios)
    write_split(split, config.out)
    summary = split_summary(split, release.entries)
    for part, row in summary.iterrows():
        typer.echo(f"{part:<6}{int(row['images']):>9,} images ({row['share']:6.1%})"
                   f"{int(row['patients']):>8,} patients")
    typer.echo(f"wrote {config.out}/train.txt, val.txt, test.txt")


@configured(StatsConfig)
def stats_command(config: StatsConfig) -> None:
    """Label statistics as in the paper's Table 16 (count and overlap per finding; uncertain
    labels and views left out counted apart)."""
    import json

    from chestx.data.releases import data_options, open_dataset
    from chestx.data.stats import format_table, plot_cooccurrence, release_stats

    release = open_dataset(config.data, data_options(config))
    report_release(release)
    stats = release_stats(release)
    typer.echo(json.dumps(stats, indent=2) if config.as_json else format_table(stats))
    if config.plot is not None:
        plot_cooccurrence(release.entries, config.plot)
        typer.echo(f"wrote {config.plot}", err=config.as_json)


@configured(CacheConfig)
def cache_command(config: CacheConfig, quiet: Quiet = False) -> None:
    """Decode and resize every image once into a memory-mapped uint8 array for training."""
    from chestx.data.cache import build_cache
    from chestx.data.releases import data_options

    report = build_cache(config.data, config.size, config.out, workers=config.workers,
                         progress=not quiet, options=data_options(config))
    for name, problem in report.bad:
        typer.echo(f"skipped {name}: {problem}", err=True)
    typer.echo(f"cached {report.n_images} images at {config.size} px in {report.path}"
               + (f" ({len(report.bad)} skipped)" if report.bad else ""))
