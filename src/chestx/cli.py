"""The ``chestx`` command line: thin wrappers that parse options, call the packages, print.

Each stage adds its commands in its own section below. Errors the user can cause are raised
as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main` prints them in
one line and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
@app.command("synth")
def synth_command(
    out: Path = typer.Argument(..., help="Folder to create (NIH layout)."),
    n: int = typer.Option(1000, "--n", min=1, help="Number of images."),
    size: int = typer.Option(256, "--size", min=32, help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Drawing processes (default: up to 2)."),
) -> None:
    """Write synthetic chest phantoms with planted findings in the NIH ChestX-ray14 layout."""
    from chestx.data.synth import synthesize

    path = synthesize(out, n=n, size=size, seed=seed, workers=workers, progress=True)
    typer.echo(f"wrote {n} images ({size} px) with Data_Entry_2017.csv, BBox_List_2017.csv "
               f"and split lists to {path}")


@app.command("split")
def split_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder (or its Data_Entry CSV)."),
    out: Path = typer.Option(..., "--out", help="Folder for train.txt, val.txt, test.txt."),
    official: bool = typer.Option(False, "--official",
                                  help="Test = test_list.txt; train_val split 7:1."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patient assignment."),
    ratios: str = typer.Option("0.7,0.1,0.2", "--ratios",
                               help="Train,val,test shares of images (random mode)."),
) -> None:
    """Split a dataset patient-wise into train/val/test lists (from the CSV alone)."""
    from chestx.data.nih import read_data_entry
    from chestx.data.splits import make_split, parse_ratios, split_summary, write_split

    entries = read_data_entry(data)
    root = data if data.is_dir() else data.parent
    split = make_split(entries, mode="official" if official else "random", seed=seed,
                       ratios=parse_ratios(ratios), root=root)
    write_split(split, out)
    summary = split_summary(split, entries)
    for part, row in summary.iterrows():
        typer.echo(f"{part:<6}{int(row['images']):>9,} images ({row['share']:6.1%})"
                   f"{int(row['patients']):>8,} patients")
    typer.echo(f"wrote {out}/train.txt, val.txt, test.txt")


@app.command("stats")
def stats_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder (or its Data_Entry CSV)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the co-occurrence "
                                     "matrix to this PNG."),
) -> None:
    """Label statistics as in the paper's Table 16 (count and overlap per finding)."""
    import json

    from chestx.data.nih import read_data_entry
    from chestx.data.stats import dataset_stats, format_table, plot_cooccurrence

    entries = read_data_entry(data)
    stats = dataset_stats(entries)
    typer.echo(json.dumps(stats, indent=2) if as_json else format_table(stats))
    if plot is not None:
        plot_cooccurrence(entries, plot)
        typer.echo(f"wrote {plot}", err=as_json)


# -------------------------------------------------------------- reports (issue: labeler)
@app.command("label")
def label_cmd(
    input: Path = typer.Argument(..., help="CSV with columns report_id,text, or a folder of "
                                           ".txt reports (report_id = file stem)."),
    output: Path = typer.Option(..., "-o", "--output", help="Labels CSV to write."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parser processes."),
    evidence: Path | None = typer.Option(None, "--evidence",
                                         help="Also write one JSON line per mention."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Label radiology reports with the 14 findings (1/0/-1/blank), Normal, Finding Labels."""
    from chestx.reports.batch import label_file

    summary = label_file(input, output, workers=workers, evidence=evidence,
                         progress=not quiet)
    for problem in summary.problems:
        typer.echo(f"warning: blank labels for {problem}", err=True)
    typer.echo(f"labeled {summary.reports} reports -> {output}"
               + (f" ({len(summary.problems)} unreadable, left blank)" if summary.problems
                  else ""))


@app.command("label-eval")
def label_eval_cmd(
    gold: Path = typer.Argument(..., help="Gold CSV with report_id,gold (as openi_dev.csv)."),
    pred: Path = typer.Argument(..., help="Labels CSV written by `chestx label`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    uncertain_positive: bool = typer.Option(False, "--uncertain-positive",
                                            help="Count uncertain (-1) as positive."),
) -> None:
    """Precision / recall / F1 per finding and micro totals (paper Tables 2 and 18)."""
    import json

    from chestx.reports.evaluate import evaluate_files, format_tables

    result = evaluate_files(gold, pred, uncertain_positive=uncertain_positive)
    typer.echo(json.dumps(result, indent=2) if as_json else format_tables(result))


# ------------------------------------------------------------- models (issue: training)
# ---------------------------------------------------------- localize (issue: localization)
@app.command("localize")
def localize_command(
    images: list[Path] = typer.Argument(..., help="Image files: PNG, JPEG or DICOM."),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A trained run's best.pt."),
    out: Path = typer.Option(..., "--out", help="Folder for overlays, boxes.csv, "
                             "probabilities.csv."),
    threshold: float = typer.Option(0.5, "--threshold", help="Draw and box the findings "
                                    "with at least this probability."),
    method: str = typer.Option("peak", "--method", help="Box generator: peak (chestx) or "
                               "paper (thresholds 60 and 180)."),
    gt: Path | None = typer.Option(None, "--gt", help="NIH BBox_List_2017.csv: draw ground "
                                   "truth blue, hits green, false positives red."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Images per forward pass."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Heatmaps and boxes per image, drawn like the paper (Tables 8-15)."""
    from chestx.localize import GENERATORS
    from chestx.localize.files import localize_files
    from chestx.models import load_checkpoint

    if method not in GENERATORS:
        raise ChestxError(f"--method {method!r}: choose from {', '.join(GENERATORS)}")
    model = load_checkpoint(checkpoint)
    report = localize_files(model, images, out, threshold, method, gt, batch_size, not quiet)
    for problem in report.skipped:
        typer.echo(f"skipped: {problem}", err=True)
    if not report.n_images:
        raise ChestxError(f"{images[0]}: no image could be read")
    typer.echo(f"localized {report.n_images} image(s); wrote {len(report.written)} files "
               f"to {out}")


@app.command("eval-boxes")
def eval_boxes(
    pred: Path = typer.Option(..., "--pred", help="PRED.csv: Image Index,Finding Label,x,y,w,h"
                             "[,score] in pixels of the stored (1024-px) images."),
    gt: Path = typer.Option(..., "--gt", help="Hand-drawn boxes: NIH BBox_List_2017.csv(.gz)."),
    out: Path = typer.Option(..., "--out", help="Folder for localization.csv."),
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
    resume: bool = typer.Option(False, "--resume",
                                help="Keep what --out already holds; predict only the rest."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Probabilities per finding and boxes for the positive ones; skips unreadable files.

    With --out: predictions.csv, boxes.csv and overlays/ (atomic; saved every 500 images and
    on Ctrl+C, so --resume continues a stopped run). Exit status 0 when at least one image
    was predicted (skipped files are listed on stderr), 2 when none could be.
    """
    from chestx.predict import Predictor, predict_paths, predictions_json, summary_line

    predictor = Predictor.from_checkpoint(checkpoint, threshold=threshold,
                                          box_method=box_method, batch_size=batch_size)
    if resume and not out:
        raise ChestxError("--resume needs --out (the folder of the run to continue)")
    run = predict_paths(predictor, inputs, out_dir=out, progress=not quiet, resume=resume)
    for path, reason in run.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    if as_json:
        typer.echo(predictions_json(run))
    else:
        for prediction in run.predictions:
            typer.echo(summary_line(prediction))
    typer.echo(f"{len(run.predictions)} images predicted, {len(run.skipped)} skipped"
               + (f", {run.resumed} done before" if resume else "")
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
