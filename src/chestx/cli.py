"""The ``chestx`` command line: thin wrappers that parse options, call the packages, print.

Each stage adds its commands in its own section below. Errors the user can cause are raised
as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main` prints them in
one line and exits with status 2.
"""

from __future__ import annotations

import sys

import typer

from chestx import __version__
from chestx.errors import ChestxError

app = typer.Typer(
    name="chestx",
    help="Build a ChestX-ray14-style database and benchmark weakly-supervised models on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chestx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """chestx: reports -> labels -> NIH-style dataset -> train -> evaluate -> localize -> use."""


# ---------------------------------------------------------------- data (issue: foundation)
# -------------------------------------------------------------- reports (issue: labeler)
# ------------------------------------------------------------- models (issue: training)
# ---------------------------------------------------------- localize (issue: localization)
@app.command("eval-boxes")
def eval_boxes(
    pred: str = typer.Option(..., "--pred", help="PRED.csv: Image Index,Finding Label,x,y,w,h"
                             "[,score] in pixels of the stored (1024-px) images."),
    gt: str = typer.Option(..., "--gt", help="Hand-drawn boxes: NIH BBox_List_2017.csv(.gz)."),
    out: str = typer.Option(..., "--out", help="Folder for localization.csv."),
) -> None:
    """Score boxes like the paper: Acc and AFP per finding over the IoBB and IoU grids."""
    from chestx.evaluate.localization import evaluate_box_files, format_table

    scores = evaluate_box_files(pred, gt, out)
    typer.echo(format_table(scores, "iobb") + "\n\n" + format_table(scores, "iou"))
    typer.echo(f"wrote {out}/localization.csv")


# ------------------------------------------------------------- ingest (issue: database)
@app.command("ingest")
def ingest_command(
    dicom_dir: str = typer.Argument(..., metavar="DICOM_DIR",
                                    help="Folder of DICOM files (walked recursively)."),
    out: str = typer.Option(..., "--out", help="Dataset folder to create or extend."),
    reports: str = typer.Option(None, "--reports",
                                help="CSV with accession and/or study_uid, and text."),
    workers: int = typer.Option(1, "--workers", help="Processes for decoding and labeling."),
    size: int = typer.Option(1024, "--size", help="Side of the square PNGs (paper: 1024)."),
    unknown_views: str = typer.Option("skip", "--unknown-views",
                                      help="Images whose view is unknown: skip or keep."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Build an NIH-style dataset (images/, Data_Entry_2017.csv) from DICOM files + reports."""
    from chestx.data.ingest import ingest

    s = ingest(dicom_dir, out, reports=reports, workers=workers, size=size,
               unknown_views=unknown_views, progress=not quiet)
    typer.echo(f"{s.out}: {s.added} images added, {s.already} already there, "
               f"{s.total_images} in total; {s.scanned} files read")
    typer.echo(f"{s.errors} files not taken, with reasons: {s.out / 'ingest_errors.csv'}")
    if reports is not None:
        typer.echo(f"{s.relabeled} images labeled from reports; {s.reports_unmatched} reports "
                   "match no image")
    typer.echo(f"{s.unlabeled} images without a report (empty Finding Labels): "
               f"{s.out / 'ingest_unlabeled.csv'}")


# ------------------------------------------------------ use (issue: predict/serve/export)
@app.command("predict")
def predict_command(
    inputs: list[str] = typer.Argument(..., metavar="IMAGE_OR_DIR...",
                                       help="PNG, JPEG or DICOM files, or folders of them."),
    checkpoint: str = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    out: str = typer.Option(None, "--out",
                            help="Write predictions.csv, boxes.csv and overlays/ here."),
    as_json: bool = typer.Option(False, "--json", help="Print all predictions as JSON."),
    threshold: float = typer.Option(0.5, "--threshold",
                                    help="Probability at which a finding is positive and boxed."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per forward pass."),
    box_method: str = typer.Option(None, "--box-method",
                                   help="Heatmap-to-box method (default: localize's default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Probabilities per finding and boxes for the positive ones; skips unreadable files.

    Exit status 0 when at least one image was predicted (skipped files are listed on stderr),
    2 when none could be.
    """
    from chestx.predict import Predictor, predict_paths, predictions_json, summary_line

    predictor = Predictor.from_checkpoint(checkpoint, threshold=threshold,
                                          box_method=box_method, batch_size=batch_size)
    run = predict_paths(predictor, inputs, out_dir=out, progress=not quiet)
    for path, reason in run.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    if as_json:
        typer.echo(predictions_json(run))
    else:
        for prediction in run.predictions:
            typer.echo(summary_line(prediction))
    typer.echo(f"{len(run.predictions)} images predicted, {len(run.skipped)} skipped"
               + (f"; wrote {out}/predictions.csv, boxes.csv, overlays/" if out else ""),
               err=as_json)


@app.command("serve")
def serve_command(
    checkpoint: str = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    threshold: float = typer.Option(0.5, "--threshold", help="Probability shown as positive."),
    max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", help="Largest upload accepted."),
) -> None:
    """Web viewer + JSON API: upload an X-ray, see findings, heatmaps and boxes."""
    from chestx.serve import load_app, run_server

    app_ = load_app(checkpoint, threshold=threshold, max_upload_mb=max_upload_mb)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can "
                   "upload images and read results", err=True)
    typer.echo(f"chestx viewer on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               "(Ctrl+C to stop)", err=True)
    run_server(app_, host=host, port=port)


@app.command("export")
def export_command(
    checkpoint: str = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    fmt: str = typer.Option(..., "--format", help="onnx or torchscript."),
    out: str = typer.Option(..., "--out", help="File to write (e.g. model.onnx, model.pt)."),
) -> None:
    """Export logits AND heatmaps (dynamic batch; normalization inside the graph)."""
    from chestx.export import export_model

    path = export_model(checkpoint, fmt, out)
    typer.echo(f"wrote {path} ({fmt}; input 'images' (N, 1, S, S) in [0, 1]; "
               "outputs 'logits' (N, C), 'heatmaps' (N, C, s, s))")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        app(args=argv)  # standalone mode: usage errors print and exit 2 by themselves
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ChestxError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
