"""``chestx evaluate``, ``label-audit`` and ``eval-boxes``: scores of a model, of a dataset's
labels and of boxes."""

from __future__ import annotations

from pathlib import Path

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet, Threads, check_heatmap, set_threads
from chestx.cli.output import print_table
from chestx.metrics.metrics_config import EvalBoxesConfig, LabelAuditConfig
from chestx.runners.runner_config import EvaluateConfig


@configured(EvaluateConfig)
def evaluate_command(config: EvaluateConfig, threads: Threads = 0, quiet: Quiet = False) -> None:
    """Per-finding ROC AUC of a trained model on a split (paper Table 3 / 17, Fig. 5 / 7)."""
    from chestx.data.releases import data_options
    from chestx.metrics.localization import LOCALIZATION_HEATMAP_SIZE
    from chestx.runners.evaluate import evaluate_checkpoint, planted_summary

    set_threads(threads)
    check_heatmap(config.heatmap)
    result = evaluate_checkpoint(
        config.checkpoint, config.data, config.out, split=config.split,
        batch_size=config.batch_size, device=config.device, workers=config.workers,
        progress=not quiet, threshold=config.threshold, radiologist_labels=config.labels,
        heatmap=config.heatmap, heatmap_size=config.heatmap_size or LOCALIZATION_HEATMAP_SIZE,
        options=data_options(config), calibrate_boxes=config.calibrate_boxes,
        save_heatmaps=config.save_heatmaps)
    typer.echo(recipe_summary(result.recipe))
    for name, why in result.left_out.items():
        typer.echo(f"left out {name}: {why}")
    print_table(result.table, f"{config.split}: {len(result.image_ids)} images")
    if result.radiologists is not None:
        print_table(result.radiologists, "AUC against the radiologists' labels "
                    f"({config.labels.name}) and against the dataset's, same images")
    planted = planted_summary(result, config.data)
    if planted is not None:
        typer.echo(planted)
    typer.echo(f"wrote {', '.join(str(p) for p in result.files.values())}")


def recipe_summary(recipe: dict) -> str:
    """One line: the recipe a checkpoint was trained with and its settings."""
    if not recipe:
        return "trained with: (no recipe recorded)"
    settings = recipe.get("settings", {})
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in settings.items() if v is not None)
    given = f"; given: {', '.join(recipe['given'])}" if recipe.get("given") else ""
    return f"trained with recipe {recipe.get('name')}: {shown}{given}"


@configured(LabelAuditConfig)
def label_audit_command(config: LabelAuditConfig) -> None:
    """The dataset's labels against radiologists' on the images both have (CSVs only)."""
    from chestx.atomic import atomic_open
    from chestx.metrics.label_audit import audit_files

    table = audit_files(config.data, config.against)
    print_table(table, f"{Path(config.data).name} labels vs radiologists' "
                f"({config.against.name}) as truth")
    if config.out is not None:
        with atomic_open(config.out) as handle:
            table.to_csv(handle, index=False, float_format="%.4f")
        typer.echo(f"wrote {config.out}")


@configured(EvalBoxesConfig)
def eval_boxes_command(config: EvalBoxesConfig) -> None:
    """Score boxes like the paper: Acc and AFP per finding over the IoBB and IoU grids."""
    from chestx.data.releases import data_options
    from chestx.metrics.localization import evaluate_box_files, format_table

    scores = evaluate_box_files(config.pred, config.gt, config.out,
                                data_options(config, views="all"))
    typer.echo(format_table(scores, "iobb") + "\n\n" + format_table(scores, "iou"))
    typer.echo(f"wrote {config.out}/localization.csv")
