"""``chestx predict`` (= ``localize``) and ``chestx export``: use a trained model."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet, check_heatmap
from chestx.errors import ChestxError
from chestx.inference.predict_config import ExportConfig, PredictConfig


@configured(PredictConfig)
def predict_command(config: PredictConfig, quiet: Quiet = False) -> None:
    """Probabilities per finding and boxes for the positive ones; skips unreadable files.

    With --out: predictions.csv, boxes.csv and overlays/ (atomic; saved every 500 images and
    on Ctrl+C, so --resume continues a stopped run). `chestx localize` is this command (with
    --gt, the overlays are judged against the hand-drawn boxes). Exit status 0 when at least
    one image was predicted (skipped files are listed on stderr), 2 when none could be.
    """
    from chestx.inference.predict_job import run_predict
    from chestx.inference.predictor import predictions_json, summary_line

    if config.resume and config.out is None:
        raise ChestxError("--resume needs --out (the folder of the run to continue)")
    if config.save_heatmaps and config.out is None:
        raise ChestxError("--save-heatmaps needs --out (the folder to write heatmaps/ in)")
    check_heatmap(config.heatmap)
    run = run_predict(config, progress=not quiet)
    for path, reason in run.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(run.source, err=True)
    if config.as_json:
        typer.echo(predictions_json(run))
    else:
        for prediction in run.predictions:
            typer.echo(summary_line(prediction))
    typer.echo(f"{len(run.predictions)} images predicted, {len(run.skipped)} skipped"
               + (f", {run.resumed} done before" if config.resume else "")
               + f"; {run.out_of_distribution} out of distribution"
               + (f"; wrote {config.out}/predictions.csv, boxes.csv, overlays/"
                  if config.out else ""), err=config.as_json)


#: ``chestx localize`` (the localization stage's name) is ``chestx predict``.
LOCALIZE_HELP = ("Heatmaps and boxes per image, drawn like the paper (Tables 8-15): the same "
                 "as `chestx predict`.")


@configured(ExportConfig)
def export_command(config: ExportConfig) -> None:
    """Export logits AND heatmaps (dynamic batch; normalization inside the graph)."""
    from chestx.inference.export import export_model

    path = export_model(config.checkpoint, config.fmt, config.out)
    typer.echo(f"wrote {path} ({config.fmt}; input 'images' (N, 1, S, S) in [0, 1]; "
               "outputs 'logits' (N, C), 'heatmaps' (N, C, s, s))")
