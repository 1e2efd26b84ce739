"""The ``chestx`` command line: thin wrappers that parse options, call the packages, print.

Each stage adds its commands in its own section below. Errors the user can cause are raised
as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main` prints them in
one line and exits with status 2.
"""

from __future__ import annotations

import math
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
def _threads(threads: int) -> None:
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _print_table(frame, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="left" if column in ("finding", "Setting")
                         else "right")
    for _, row in frame.iterrows():
        table.add_row(*["" if v != v else (f"{v:.4f}" if isinstance(v, float) else str(v))
                        for v in row])
    Console().print(table)


_PRETRAINED_HELP = "Start from torchvision's ImageNet weights (downloaded; offline use --weights)."


@app.command("train")
def train_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder in the NIH layout."),
    out: Path = typer.Option(..., "--out", help="Run folder: best.pt, last.pt, metrics.csv."),
    backbone: str = typer.Option("resnet50", "--backbone", help="alexnet, googlenet, vgg16, "
                                 "resnet50, densenet121, resnet18 or a torchvision name."),
    recipe: str = typer.Option("auto", "--recipe", help="auto (by how the backbone starts: "
                               "scratch, imagenet, checkpoint) | scratch | imagenet | "
                               "checkpoint | paper (section 4). Options given here win."),
    pooling: str | None = typer.Option(None, "--pooling", help="avg | max | lse "
                                       "(recipe: lse)"),
    lse_r: float | None = typer.Option(None, "--lse-r", help="r of LSE pooling (recipe: 10)."),
    loss: str | None = typer.Option(None, "--loss", help="hinge | euclidean | ce | wce "
                                    "(recipe: ce; paper: wce)"),
    image_size: int | None = typer.Option(None, "--image-size", help="Input side "
                                          "(recipe: 1024)."),
    classes: int = typer.Option(14, "--classes", help="14 (ChestX-ray14) or 8 (ChestX-ray8)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Images per forward "
                                          "pass (recipe: 16; paper: 8)."),
    iter_size: int | None = typer.Option(None, "--iter-size", help="Batches accumulated per "
                                         "optimizer step (recipe: 1; paper: 10)."),
    epochs: int = typer.Option(10, "--epochs"),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate, taken as given "
                                    "(recipe: its rate x batch x iter x processes / its "
                                    "reference batch; scratch 0.01 per 16 images)."),
    momentum: float = typer.Option(0.9, "--momentum"),
    weight_decay: float = typer.Option(1e-4, "--weight-decay"),
    optimizer: str | None = typer.Option(None, "--optimizer", help="sgd | adamw "
                                         "(recipe: sgd)"),
    schedule: str | None = typer.Option(None, "--schedule", help="cosine | constant "
                                        "(recipe: cosine; paper: constant)"),
    warmup_epochs: float | None = typer.Option(None, "--warmup-epochs", help="Linear warm-up "
                                               "in epochs, at most a tenth of the run "
                                               "(recipe: 0.5 from scratch/ImageNet)."),
    half_res_epochs: int = typer.Option(0, "--half-res-epochs", help="Progressive resizing: "
                                        "train the first N epochs at half --image-size."),
    workers: int | None = typer.Option(None, "--workers", help="DataLoader processes "
                                       "(0 on a CPU of <= 4 cores: they would take cores "
                                       "from the convolutions)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    amp: bool = typer.Option(False, "--amp", help="Mixed precision (fp16 on GPU, bf16 CPU)."),
    pretrained: bool = typer.Option(True, "--pretrained/--no-pretrained", help=_PRETRAINED_HELP),
    weights: Path | None = typer.Option(None, "--weights", help="Backbone state dict "
                                        "(torchvision) or a chestx checkpoint to start from."),
    split: str = typer.Option("official", "--split", help="official | random (patient-wise)."),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Use DIR/cache when present."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Where `chestx cache "
                                          "--out` wrote the cache (default DIR/cache)."),
    augment: bool | None = typer.Option(None, "--augment/--no-augment", help="Crop/rotate/"
                                        "jitter (recipe: off; imagenet: on)."),
    max_train_images: int | None = typer.Option(None, "--max-train-images",
                                                help="Use only the first N training images."),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch's default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Train the paper's weakly-supervised multi-label classifier (§3.1, §4)."""
    from chestx.training import TrainConfig, train

    _threads(threads)
    config = TrainConfig(
        data=str(data), out=str(out), backbone=backbone, recipe=recipe, pooling=pooling,
        lse_r=lse_r, loss=loss, image_size=image_size, classes=classes, batch_size=batch_size,
        iter_size=iter_size, epochs=epochs, lr=lr, momentum=momentum,
        weight_decay=weight_decay, optimizer=optimizer, schedule=schedule,
        warmup_epochs=warmup_epochs, workers=workers, device=device,
        half_res_epochs=half_res_epochs, amp=amp, pretrained=pretrained,
        weights=str(weights) if weights else None, split=split, seed=seed, resume=resume,
        cache=cache, cache_dir=str(cache_dir) if cache_dir else None, augment=augment,
        max_train_images=max_train_images, progress=not quiet)
    result = train(config)
    best = (f"best mean val AUC {result.best_auc:.4f} at epoch {result.best_epoch}"
            if math.isfinite(result.best_auc) else
            f"no val AUC (no finding has both positives and negatives in val); best.pt is "
            f"epoch {result.best_epoch}")
    typer.echo(f"{best}; wrote {out}/best.pt, last.pt, metrics.csv")


@app.command("cache")
def cache_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder in the NIH layout."),
    size: int = typer.Option(512, "--size", help="Side of the cached images."),
    out: Path | None = typer.Option(None, "--out", help="Cache folder (default DIR/cache)."),
    workers: int = typer.Option(2, "--workers", help="Decoding threads."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Decode and resize every image once into a memory-mapped uint8 array for training."""
    from chestx.data.cache import build_cache

    report = build_cache(data, size, out, workers=workers, progress=not quiet)
    for name, problem in report.bad:
        typer.echo(f"skipped {name}: {problem}", err=True)
    typer.echo(f"cached {report.n_images} images at {size} px in {report.path}"
               + (f" ({len(report.bad)} skipped)" if report.bad else ""))


@app.command("evaluate")
def evaluate_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A run's best.pt."),
    data: Path = typer.Option(..., "--data", help="Dataset folder in the NIH layout."),
    out: Path = typer.Option(..., "--out", help="Folder for predictions.csv, auc.csv, roc.png."),
    split: str = typer.Option("test", "--split", help="test | val | train | all"),
    batch_size: int = typer.Option(16, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    workers: int | None = typer.Option(None, "--workers", help="DataLoader processes "
                                       "(0 on a CPU of <= 4 cores)."),
    labels: Path | None = typer.Option(None, "--labels", help="Radiologist labels (e.g. "
                                       "google2019_nih-chest-xray-labels.csv.gz): also the "
                                       "AUC against them, beside the dataset's own."),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch's default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Per-finding ROC AUC of a trained model on a split (paper Table 3 / 17, Fig. 5 / 7)."""
    from chestx.evaluate.runner import evaluate_checkpoint

    _threads(threads)
    result = evaluate_checkpoint(checkpoint, data, out, split=split, batch_size=batch_size,
                                 device=device, workers=workers, progress=not quiet,
                                 radiologist_labels=labels)
    typer.echo(_recipe_summary(result.recipe))
    _print_table(result.table, f"{split}: {len(result.image_ids)} images")
    if result.radiologists is not None:
        _print_table(result.radiologists, f"AUC against the radiologists' labels ({labels.name})"
                     " and against the dataset's, same images")
    if (data / "synth.json").is_file():  # phantoms: only the planted findings are learnable
        from chestx.data.synth import PLANTED_FINDINGS

        planted = result.table[result.table["finding"].isin(PLANTED_FINDINGS)]["auc"]
        typer.echo(f"mean AUC over the {planted.notna().sum()} planted findings: "
                   f"{planted.mean():.4f}")
    typer.echo(f"wrote {', '.join(str(p) for p in result.files.values())}")


def _recipe_summary(recipe: dict) -> str:
    """One line: the recipe a checkpoint was trained with and its settings."""
    if not recipe:
        return "trained with: (no recipe recorded)"
    settings = recipe.get("settings", {})
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in settings.items() if v is not None)
    given = f"; given: {', '.join(recipe['given'])}" if recipe.get("given") else ""
    return f"trained with recipe {recipe.get('name')}: {shown}{given}"


@app.command("label-audit")
def label_audit_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder (or its Data_Entry CSV)."),
    against: Path = typer.Option(..., "--against", help="Radiologist labels, e.g. "
                                 "google2019_nih-chest-xray-labels.csv.gz."),
    out: Path | None = typer.Option(None, "--out", help="Also write the table to this CSV."),
) -> None:
    """The dataset's labels against radiologists' on the images both have (CSVs only)."""
    from chestx.atomic import atomic_open
    from chestx.evaluate.label_audit import audit_files

    table = audit_files(data, against)
    _print_table(table, f"{Path(data).name} labels vs radiologists' ({against.name}) as truth")
    if out is not None:
        with atomic_open(out) as handle:
            table.to_csv(handle, index=False, float_format="%.4f")
        typer.echo(f"wrote {out}")


@app.command("reproduce")
def reproduce_command(
    data: Path = typer.Option(..., "--data", help="Dataset folder in the NIH layout."),
    grid: str = typer.Option(..., "--grid", help="backbones | losses | pooling"),
    out: Path = typer.Option(Path("reproduce"), "--out", help="Folder for runs and tables."),
    values: str | None = typer.Option(None, "--values", help="Comma list overriding the "
                                      "grid, e.g. resnet18,alexnet or lse:10,avg or ce,wce."),
    backbone: str = typer.Option("resnet50", "--backbone", help="Backbone of the losses and "
                                 "pooling grids (paper: ResNet-50)."),
    recipe: str = typer.Option("paper", "--recipe", help="Settings of the runs: paper (§4) "
                               "or auto | scratch | imagenet | checkpoint (see train)."),
    image_size: int | None = typer.Option(None, "--image-size", help="(recipe: 1024)"),
    classes: int = typer.Option(8, "--classes", help="8 as in Table 3, or 14."),
    epochs: int = typer.Option(10, "--epochs"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="(recipe)"),
    iter_size: int | None = typer.Option(None, "--iter-size", help="(recipe)"),
    lr: float | None = typer.Option(None, "--lr", help="(recipe, scaled by the batch)"),
    pretrained: bool = typer.Option(True, "--pretrained/--no-pretrained", help=_PRETRAINED_HELP),
    split: str = typer.Option("official", "--split", help="official | random"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
    workers: int | None = typer.Option(None, "--workers"),
    amp: bool = typer.Option(False, "--amp"),
    max_train_images: int | None = typer.Option(None, "--max-train-images"),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch's default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Run the paper's ablations (Table 3 rows, Fig. 6) with shared settings."""
    from chestx.training import TrainConfig
    from chestx.training.reproduce import reproduce

    _threads(threads)
    base = TrainConfig(data=str(data), out=str(out), backbone=backbone, recipe=recipe,
                       image_size=image_size,
                       classes=classes, epochs=epochs, batch_size=batch_size,
                       iter_size=iter_size, lr=lr, pretrained=pretrained, split=split,
                       seed=seed, device=device, workers=workers, amp=amp,
                       max_train_images=max_train_images, progress=not quiet)
    chosen = [v.strip() for v in values.split(",") if v.strip()] if values else None
    table = reproduce(base, grid, out, chosen)
    _print_table(table, f"test AUC, grid {grid}")
    typer.echo(f"wrote {out / grid}/table.csv and table.md")


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
