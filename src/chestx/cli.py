"""The ``chestx`` command line: thin wrappers that parse options, call the packages, print.

Each stage adds its commands in its own section below. Errors the user can cause are raised
as :class:`chestx.errors.ChestxError` anywhere in the packages; :func:`main` prints them in
one line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import sys
import typing
from pathlib import Path

import typer

from chestx import __version__
from chestx.errors import ChestxError
from chestx.findings import DEFAULT_THRESHOLD
from chestx.training.train_config import TrainConfig

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
    from chestx.synth.cohort import synthesize

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
def label_command(
    input: Path = typer.Argument(..., help="CSV with columns report_id,text, or a folder of "
                                           ".txt reports (report_id = file stem)."),
    output: Path = typer.Option(..., "-o", "--output", help="Labels CSV to write."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parser processes."),
    evidence: Path | None = typer.Option(None, "--evidence",
                                         help="Also write one JSON line per mention."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    coding: str | None = typer.Option(None, "--coding",
                                      help="paper (§2.1, the default) or openi: code reports as "
                                           "OpenI's annotators did (differentials present, "
                                           "devices abnormal, any thickening "
                                           "Pleural_Thickening)."),
) -> None:
    """Label radiology reports with the 14 findings (1/0/-1/blank), Normal, Finding Labels."""
    from chestx.reports.batch import label_file
    from chestx.reports.labeler import Labeler

    labeler = Labeler(coding=coding) if coding else None
    summary = label_file(input, output, workers=workers, evidence=evidence,
                         progress=not quiet, labeler=labeler)
    for problem in summary.problems:
        typer.echo(f"warning: blank labels for {problem}", err=True)
    typer.echo(f"labeled {summary.reports} reports -> {output}"
               + (f" ({len(summary.problems)} unreadable, left blank)" if summary.problems
                  else ""))


@app.command("label-eval")
def label_eval_command(
    gold: Path = typer.Argument(..., help="Gold CSV with report_id,gold (as openi_dev.csv)."),
    pred: Path = typer.Argument(..., help="Labels CSV written by `chestx label`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    uncertain_positive: bool = typer.Option(False, "--uncertain-positive",
                                            help="Count uncertain (-1) as positive."),
) -> None:
    """Precision / recall / F1 per finding and micro totals (paper Tables 2 and 18)."""
    import json

    from chestx.reports.scoring import evaluate_files, format_tables

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


def config_options(cls: type, defaults: dict | None = None,
                   skip: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """Typer options for the fields of dataclass ``cls`` (see :mod:`chestx.training.train_config`).

    Each field with ``help`` metadata becomes ``--field-name`` (``--x/--no-x`` for a bool)
    with the field's default (or ``defaults[name]``), its help, its ``choices`` listed, and
    ``Path`` for a ``path`` field; a field without a default is a required option.
    """
    hints = typing.get_type_hints(cls)
    params = []
    for item in dataclasses.fields(cls):
        meta = item.metadata
        if item.name in skip or not meta.get("cli", True):
            continue
        flag = "--" + item.name.replace("_", "-")
        default = (defaults or {}).get(item.name, item.default)
        kind = hints[item.name]
        if meta.get("path"):
            kind = Path if default is dataclasses.MISSING else Path | None
            default = Path(default) if isinstance(default, str) else default
        help_text = meta["help"] + (f" (one of {', '.join(map(str, meta['choices']))})"
                                    if "choices" in meta else "")
        flag_kind = kind in (bool, bool | None)  # None: left to the recipe
        decls = [f"{flag}/--no-{flag[2:]}"] if flag_kind else [flag]
        typed = typer.Option(... if default is dataclasses.MISSING else default, *decls,
                             help=help_text, min=meta.get("min"))
        params.append(inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=typed, annotation=kind))
    return params


def _config_from(cls: type, options: dict, **fixed) -> object:
    """An instance of dataclass ``cls`` from parsed options (``Path`` values as ``str``)."""
    names = {item.name for item in dataclasses.fields(cls)}
    values = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if k in names}
    return cls(**{**values, **fixed})


def _with_options(command, params: list[inspect.Parameter]):
    """Give ``command(**options)`` the signature typer reads its options from."""
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


_THREADS = inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, annotation=int,
                             default=typer.Option(0, "--threads",
                                                  help="CPU threads (0: torch's default)."))
_QUIET = inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                           default=typer.Option(False, "--quiet", "-q", help="No progress bars."))


def train_command(**options) -> None:
    """Train the paper's weakly-supervised multi-label classifier (§3.1, §4)."""
    from chestx.training import train

    _threads(options["threads"])
    config = _config_from(TrainConfig, options, progress=not options["quiet"])
    result = train(config)
    best = (f"best mean val AUC {result.best_auc:.4f} at epoch {result.best_epoch}"
            if math.isfinite(result.best_auc) else
            f"no val AUC (no finding has both positives and negatives in val); best.pt is "
            f"epoch {result.best_epoch}")
    typer.echo(f"{best}; wrote {config.out}/best.pt, last.pt, metrics.csv")


app.command("train")(_with_options(train_command,
                                   [*config_options(TrainConfig), _THREADS, _QUIET]))


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


_HEATMAP_HELP = "Heatmap source: cam (the paper's) | gradcam | gradcam++."
_HEATMAP_SIZE_HELP = ("Localize at S x S heatmaps (8, 16, 32): the model's weights on a "
                      "dilated backbone (default: as trained).")


def _check_heatmap(heatmap: str) -> None:
    from chestx.localize.sources import HEATMAP_SOURCES

    if heatmap not in HEATMAP_SOURCES:
        raise ChestxError(f"--heatmap {heatmap!r}: choose from {', '.join(HEATMAP_SOURCES)}")


@app.command("evaluate")
def evaluate_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A run's best.pt."),
    data: Path = typer.Option(..., "--data", help="Dataset folder in the NIH layout."),
    out: Path = typer.Option(..., "--out", help="Folder for predictions.csv, auc.csv, roc.png."),
    split: str = typer.Option("test", "--split", help="test | val | train | all"),
    batch_size: int = typer.Option(16, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    workers: int | None = typer.Option(None, "--workers", help="DataLoader processes "
                                       "(default 0 on a CPU of <= 4 cores)."),
    threshold: float | None = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                           help="Probability at which predictions.csv calls "
                                           "every finding positive (default: the "
                                           "checkpoint's per-finding operating point, else "
                                           f"{DEFAULT_THRESHOLD})."),
    labels: Path | None = typer.Option(None, "--labels", help="Radiologist labels (e.g. "
                                       "google2019_nih-chest-xray-labels.csv.gz): also the "
                                       "AUC against them, beside the dataset's own."),
    heatmap: str = typer.Option("cam", "--heatmap", help=_HEATMAP_HELP),
    heatmap_size: int | None = typer.Option(None, "--heatmap-size", help=_HEATMAP_SIZE_HELP),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch's default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Per-finding ROC AUC of a trained model on a split (paper Table 3 / 17, Fig. 5 / 7)."""
    from chestx.metrics.localization import LOCALIZATION_HEATMAP_SIZE
    from chestx.runners.evaluate import evaluate_checkpoint, planted_summary

    _threads(threads)
    _check_heatmap(heatmap)
    result = evaluate_checkpoint(checkpoint, data, out, split=split, batch_size=batch_size,
                                 device=device, workers=workers, progress=not quiet,
                                 threshold=threshold, radiologist_labels=labels, heatmap=heatmap,
                                 heatmap_size=heatmap_size or LOCALIZATION_HEATMAP_SIZE)
    typer.echo(_recipe_summary(result.recipe))
    _print_table(result.table, f"{split}: {len(result.image_ids)} images")
    if result.radiologists is not None:
        _print_table(result.radiologists, f"AUC against the radiologists' labels ({labels.name})"
                     " and against the dataset's, same images")
    planted = planted_summary(result, data)
    if planted is not None:
        typer.echo(planted)
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
    from chestx.metrics.label_audit import audit_files

    table = audit_files(data, against)
    _print_table(table, f"{Path(data).name} labels vs radiologists' ({against.name}) as truth")
    if out is not None:
        with atomic_open(out) as handle:
            table.to_csv(handle, index=False, float_format="%.4f")
        typer.echo(f"wrote {out}")


def reproduce_command(**options) -> None:
    """Run the paper's ablations (Table 3 rows, Fig. 6) with shared settings."""
    from chestx.runners.reproduce import reproduce

    _threads(options["threads"])
    base = _config_from(TrainConfig, options, progress=not options["quiet"])
    values = options["values"]
    chosen = [v.strip() for v in values.split(",") if v.strip()] if values else None
    table = reproduce(base, options["grid"], base.out, chosen)
    _print_table(table, f"test AUC, grid {options['grid']}")
    typer.echo(f"wrote {Path(base.out) / options['grid']}/table.csv and table.md")


_GRID = inspect.Parameter("grid", inspect.Parameter.KEYWORD_ONLY, annotation=str,
                          default=typer.Option(..., "--grid", help="backbones | losses | pooling"))
_VALUES = inspect.Parameter(
    "values", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
    default=typer.Option(None, "--values", help="Comma list overriding the grid, e.g. "
                         "resnet18,alexnet or lse:10,avg or ce,wce."))
app.command("reproduce")(_with_options(reproduce_command, [
    _GRID, _VALUES,
    *config_options(TrainConfig, defaults={"out": "reproduce", "classes": 8, "recipe": "paper"},
                    skip=("resume",)),
    _THREADS, _QUIET]))


# ---------------------------------------------------------- localize
@app.command("eval-boxes")
def eval_boxes_command(
    pred: Path = typer.Option(..., "--pred", help="PRED.csv: Image Index,Finding Label,x,y,w,h"
                             "[,score] in pixels of the stored (1024-px) images."),
    gt: Path = typer.Option(..., "--gt", help="Hand-drawn boxes: NIH BBox_List_2017.csv(.gz)."),
    out: Path = typer.Option(..., "--out", help="Folder for localization.csv."),
) -> None:
    """Score boxes like the paper: Acc and AFP per finding over the IoBB and IoU grids."""
    from chestx.metrics.localization import evaluate_box_files, format_table

    scores = evaluate_box_files(pred, gt, out)
    typer.echo(format_table(scores, "iobb") + "\n\n" + format_table(scores, "iou"))
    typer.echo(f"wrote {out}/localization.csv")


# ------------------------------------------------------------- ingest (issue: database)
@app.command("ingest")
def ingest_command(
    dicom_dir: Path = typer.Argument(..., metavar="DICOM_DIR",
                                     help="Folder of DICOM files (walked recursively)."),
    out: Path = typer.Option(..., "--out", help="Dataset folder to create or extend."),
    reports: Path | None = typer.Option(None, "--reports",
                                        help="CSV with accession and/or study_uid, and text."),
    workers: int = typer.Option(1, "--workers", help="Processes for decoding and labeling."),
    size: int = typer.Option(1024, "--size", help="Side of the square PNGs (paper: 1024)."),
    unknown_views: str = typer.Option("skip", "--unknown-views",
                                      help="Images whose view is unknown: skip or keep."),
    pad_square: bool = typer.Option(False, "--pad-square",
                                    help="Pad non-square images to a square (keeps the aspect "
                                         "ratio) instead of stretching them as NIH did."),
    deidentify: bool = typer.Option(False, "--deidentify",
                                    help="De-identify the files first (PS3.15 basic profile) "
                                         "into OUT/dicom; the key goes to --key."),
    key: Path | None = typer.Option(None, "--key", help="De-identification key file "
                                    "(default: OUT-private/deid_key.sqlite, outside OUT)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Build an NIH-style dataset (images/, Data_Entry_2017.csv) from DICOM files + reports.

    Reports: --reports CSV, else the DICOM SR reports in the folder (joined by study)."""
    from chestx.database.ingest import ingest

    if deidentify:
        from chestx.database.pacs.deidentify import default_key_path, deidentify_folder

        key_path = key or default_key_path(out)
        done = deidentify_folder(dicom_dir, out / "dicom", key_path, progress=not quiet)
        typer.echo(f"de-identified {done.written} files into {out / 'dicom'} (key: "
                   f"{key_path}); {len(done.flagged)} may hold burned-in text, listed in "
                   f"{done.flag_list}")
        dicom_dir = out / "dicom"
    s = ingest(dicom_dir, out, reports=reports, workers=workers, size=size,
               unknown_views=unknown_views, pad_square=pad_square, progress=not quiet)
    typer.echo(f"{s.out}: {s.added} images added, {s.already} already there, "
               f"{s.total_images} in total; {s.scanned} files read")
    typer.echo(f"{s.errors} files not taken, with reasons: {s.out / 'ingest_errors.csv'}")
    if reports is None and s.sr_reports:
        typer.echo(f"{s.relabeled} images labeled from {s.sr_reports} DICOM SR reports; "
                   f"{s.reports_unmatched} reports match no image")
    if reports is not None:
        typer.echo(f"{s.relabeled} images labeled from reports; {s.reports_unmatched} reports "
                   "match no image")
    typer.echo(f"{s.unlabeled} images without a report (empty Finding Labels): "
               f"{s.out / 'ingest_unlabeled.csv'}")


# ---------------------------------------------------------- pacs (query / retrieve a PACS)
pacs_app = typer.Typer(help="Find and pull chest radiographs and their SR reports from a "
                            "PACS (DICOMweb or DIMSE).", no_args_is_help=True)
app.add_typer(pacs_app, name="pacs")
_DICOMWEB = typer.Option(None, "--dicomweb", help="DICOMweb root URL (QIDO-RS / WADO-RS).")
_DIMSE = typer.Option(None, "--dimse", help="DIMSE peer AET@HOST:PORT (C-FIND, C-GET/C-MOVE).")
_AET = typer.Option("CHESTX", "--aet", help="Our AE title (DIMSE).")
_MODALITY = typer.Option("CR,DX", "--modality", help="Modalities to take ('' = any).")
_TIMEOUT = typer.Option(60.0, "--timeout", help="Seconds before a request times out.")


@pacs_app.command("query")
def pacs_query_command(
    output: Path = typer.Option(..., "-o", "--output", help="studies.csv to write."),
    dicomweb: str = _DICOMWEB, dimse: str = _DIMSE, aet: str = _AET,
    modality: str = _MODALITY,
    since: str = typer.Option(None, "--since", help="First study date (YYYY-MM-DD)."),
    until: str = typer.Option(None, "--until", help="Last study date (YYYY-MM-DD)."),
    patient: str = typer.Option(None, "--patient", help="PatientID."),
    accession: str = typer.Option(None, "--accession", help="AccessionNumber."),
    from_csv: Path | None = typer.Option(None, "--from-csv", help="Cohort CSV: one query per row "
                                  "(PatientID, AccessionNumber, StudyInstanceUID, StudyDate)."),
    timeout: float = _TIMEOUT,
) -> None:
    """Find studies (QIDO-RS or C-FIND) and list them in a CSV for `chestx pacs retrieve`."""
    from chestx.database.pacs.query import (
        StudyQuery,
        find_studies,
        parse_modalities,
        read_cohort,
        write_studies,
    )
    from chestx.database.pacs.transports import transport_factory

    modalities = parse_modalities(modality)
    queries = read_cohort(from_csv, modalities) if from_csv else \
        [StudyQuery.from_options(modalities, since, until, patient, accession)]
    make, where = transport_factory(dicomweb, dimse, aet, timeout=timeout)
    transport = make()
    try:
        rows = find_studies(transport, queries)
    finally:
        transport.close()
    write_studies(output, rows)
    typer.echo(f"{len(rows)} studies from {where} ({len(queries)} queries): {output}")


@pacs_app.command("retrieve")
def pacs_retrieve_command(
    studies: Path = typer.Option(..., "--studies", help="studies.csv from `chestx pacs query`."),
    out: Path = typer.Option(..., "--out", help="Folder: OUT/<PatientID>/<Study>/<Series>/"
                                                "<SOP>.dcm, and the job state."),
    dicomweb: str = _DICOMWEB, dimse: str = _DIMSE, aet: str = _AET,
    move_dest: str = typer.Option(None, "--move-dest", help="C-MOVE to this AE title (our "
                                  "own storage SCP) instead of C-GET."),
    store_port: int = typer.Option(None, "--store-port", help="Port of that storage SCP."),
    store_host: str = typer.Option("127.0.0.1", "--store-host", help="Address it listens on."),
    modality: str = _MODALITY,
    max_concurrent: int = typer.Option(2, "--max-concurrent", min=1,
                                       help="Studies fetched at the same time."),
    retries: int = typer.Option(3, "--retries", min=0, help="Tries again per study."),
    backoff: float = typer.Option(1.0, "--backoff", help="First wait before a retry, seconds "
                                                         "(doubles each time)."),
    window: str = typer.Option(None, "--window", help="Run only in these hours, e.g. "
                                                      "19:00-07:00 (sleeps outside)."),
    deidentify: bool = typer.Option(False, "--deidentify", help="Apply the PS3.15 basic "
                                    "profile to every file (consistent pseudonyms)."),
    key: Path | None = typer.Option(None, "--key", help="De-identification key (default: "
                             "OUT-private/deid_key.sqlite, outside OUT)."),
    burned_in: str = typer.Option("if-yes", "--burned-in", help="Flag burned-in annotation: "
                                  "if-yes, unless-no or never."),
    timeout: float = _TIMEOUT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fetch the frontal CR/DX images and SR reports of the listed studies (resumable)."""
    import contextlib

    from chestx.database.pacs.deidentify import Pseudonymizer, default_key_path
    from chestx.database.pacs.query import parse_modalities, read_studies
    from chestx.database.pacs.retrieve import Retriever, RetrieveSettings
    from chestx.database.pacs.storescp import StorageSCP
    from chestx.database.pacs.transports import transport_factory
    from chestx.database.pacs.window import TimeWindow

    rows = read_studies(studies)
    if bool(move_dest) != bool(store_port):
        raise ChestxError("C-MOVE needs both --move-dest AET and --store-port N")
    settings = RetrieveSettings(parse_modalities(modality), max_concurrent, retries, backoff,
                                TimeWindow.parse(window) if window else None, not quiet)
    key_path = key or default_key_path(out)
    pseudonymizer = Pseudonymizer(key_path, burned_in, protect=out) if deidentify else None
    with contextlib.ExitStack() as stack:
        scp = stack.enter_context(StorageSCP(move_dest, store_port, store_host)) \
            if move_dest else None
        make, where = transport_factory(dicomweb, dimse, aet, move_dest, scp, timeout)
        s = Retriever(make, out, settings, pseudonymizer,
                      private_dir=key_path.parent if deidentify else None).run(rows)
    typer.echo(f"{s.studies_done} of {s.studies} studies in {out} from {where}: "
               f"{s.fetched} instances fetched now ({s.bytes / 1e6:.1f} MB in all), "
               f"{s.instances} wanted")
    typer.echo(f"{s.skipped} series/instances not taken (CT, lateral, ...): "
               f"{s.lists / 'retrieve_skipped.csv'}")
    if s.failed:
        typer.echo(f"{len(s.failed)} studies failed, with reasons: "
                   f"{s.lists / 'retrieve_failed.csv'}", err=True)
        for uid, reason in s.failed[:5]:
            typer.echo(f"  {uid}: {reason}", err=True)
    if deidentify:
        typer.echo(f"de-identified; key and job state in {key_path.parent} (keep it apart "
                   f"from the data); {s.flagged} files flagged for burned-in annotation")


# ------------------------------------------- trust: calibrate, model card, operating points
_OPERATING_POINT_HELP = ("Per-finding thresholds chosen on the validation images: youden, "
                         "sensitivity=0.95 or specificity=0.95 (default: the checkpoint's).")


@app.command("calibrate")
def calibrate_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A run's best.pt (updated in "
                                    "place)."),
    data: Path = typer.Option(..., "--data", help="The dataset it was trained on (NIH layout)."),
    operating_point: str = typer.Option("youden", "--operating-point",
                                        help="Thresholds to store: youden, sensitivity=0.95 "
                                        "or specificity=0.95."),
    detector: str | None = typer.Option(None, "--detector", help="Out-of-distribution "
                                        "detector: mahalanobis-layers (default), mahalanobis "
                                        "(pooled features only) or energy."),
    quantile: float = typer.Option(0.99, "--quantile", min=0.5, max=1.0, help="Flag images "
                                   "scoring above this quantile of the validation images."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch's default)."),
) -> None:
    """Store out-of-distribution statistics, temperatures and operating points in a checkpoint:
    fitted on its training and validation images, scored on its test images."""
    from chestx.training.distributed import resolve_device
    from chestx.training.trust_fit import calibrate_checkpoint, trust_line

    _threads(threads)
    done = calibrate_checkpoint(checkpoint, data, operating_point, detector, quantile,
                                batch_size, resolve_device(device))
    typer.echo(trust_line(done))
    test = done.state.metrics.get("test")
    if test:
        findings = test["findings"].values()
        before = [f["ece_before"] for f in findings if math.isfinite(f["ece_before"])]
        after = [f["ece_after"] for f in findings if math.isfinite(f["ece_after"])]
        typer.echo(f"test ({test['images']} images): mean ECE {sum(before) / len(before):.4f}"
                   f" -> {sum(after) / len(after):.4f}; {test['flagged']:.1%} flagged out of "
                   "distribution")


@app.command("card")
def card_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A calibrated checkpoint."),
    out: Path | None = typer.Option(None, "--out", help="Write the card here (Markdown) "
                                    "instead of printing it."),
) -> None:
    """The model card: training data, per-finding metrics, calibration, out-of-distribution
    threshold, intended use and limits."""
    from chestx.atomic import atomic_open
    from chestx.models.state import read_checkpoint
    from chestx.trust.card import model_card

    card = model_card(read_checkpoint(checkpoint), str(checkpoint))
    if out is None:
        typer.echo(card, nl=False)
        return
    with atomic_open(out) as handle:
        handle.write(card)
    typer.echo(f"wrote {out}")


# ------------------------------------------------------ use (issue: predict/serve/export)
@app.command("predict")
def predict_command(
    inputs: list[Path] = typer.Argument(..., metavar="IMAGE_OR_DIR...",
                                        help="PNG, JPEG or DICOM files, or folders of them."),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    out: Path | None = typer.Option(None, "--out",
                                    help="Write predictions.csv, boxes.csv and overlays/ here."),
    as_json: bool = typer.Option(False, "--json", help="Print all predictions as JSON."),
    threshold: float | None = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                           help="Probability at which every finding is "
                                           "positive and boxed (default: the checkpoint's "
                                           "per-finding operating point, else "
                                           f"{DEFAULT_THRESHOLD})."),
    operating_point: str | None = typer.Option(None, "--operating-point",
                                               help=_OPERATING_POINT_HELP),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per forward pass."),
    box_method: str | None = typer.Option(None, "--box-method", "--method",
                                          help="Heatmap-to-box method (default: peak)."),
    gt: Path | None = typer.Option(None, "--gt", help="NIH BBox_List_2017.csv: overlays draw "
                                   "ground truth blue, hits green, false positives red."),
    resume: bool = typer.Option(False, "--resume",
                                help="Keep what --out already holds; predict only the rest."),
    heatmap: str = typer.Option("cam", "--heatmap", help=_HEATMAP_HELP),
    heatmap_size: int | None = typer.Option(None, "--heatmap-size", help=_HEATMAP_SIZE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Probabilities per finding and boxes for the positive ones; skips unreadable files.

    With --out: predictions.csv, boxes.csv and overlays/ (atomic; saved every 500 images and
    on Ctrl+C, so --resume continues a stopped run). `chestx localize` is this command (with
    --gt, the overlays are judged against the hand-drawn boxes). Exit status 0 when at least
    one image was predicted (skipped files are listed on stderr), 2 when none could be.
    """
    from chestx.data.nih import read_bbox_list
    from chestx.inference.predictor import (
        Predictor,
        predict_paths,
        predictions_json,
        summary_line,
    )
    from chestx.localize.boxes import boxes_by_image

    if resume and out is None:
        raise ChestxError("--resume needs --out (the folder of the run to continue)")
    _check_heatmap(heatmap)
    predictor = Predictor.from_checkpoint(checkpoint, threshold=threshold,
                                          box_method=box_method, batch_size=batch_size,
                                          heatmap=heatmap, heatmap_size=heatmap_size,
                                          operating_point=operating_point)
    truth = boxes_by_image(read_bbox_list(gt)) if gt is not None else None
    run = predict_paths(predictor, inputs, out_dir=out, progress=not quiet, resume=resume,
                        truth=truth)
    for path, reason in run.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(predictor.describe(), err=True)
    if as_json:
        typer.echo(predictions_json(run))
    else:
        for prediction in run.predictions:
            typer.echo(summary_line(prediction))
    flagged = sum(bool(getattr(p, "out_of_distribution", False)) for p in run.predictions)
    typer.echo(f"{len(run.predictions)} images predicted, {len(run.skipped)} skipped"
               + (f", {run.resumed} done before" if resume else "")
               + f"; {flagged} out of distribution"
               + (f"; wrote {out}/predictions.csv, boxes.csv, overlays/" if out else ""),
               err=as_json)


#: ``chestx localize`` (the localization stage's name) is ``chestx predict``.
app.command("localize", help="Heatmaps and boxes per image, drawn like the paper (Tables "
            "8-15): the same as `chestx predict`.")(predict_command)


@app.command("serve")
def serve_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    threshold: float | None = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                           help="Probability shown as positive for every "
                                           "finding (default: the checkpoint's per-finding "
                                           f"operating point, else {DEFAULT_THRESHOLD})."),
    operating_point: str | None = typer.Option(None, "--operating-point",
                                               help=_OPERATING_POINT_HELP),
    max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", help="Largest upload accepted."),
    heatmap: str = typer.Option("cam", "--heatmap", help=_HEATMAP_HELP),
    heatmap_size: int | None = typer.Option(None, "--heatmap-size", help=_HEATMAP_SIZE_HELP),
) -> None:
    """Web viewer + JSON API: upload an X-ray, see findings, heatmaps and boxes."""
    from chestx.serve import load_app, run_server

    _check_heatmap(heatmap)
    app_ = load_app(checkpoint, threshold=threshold, max_upload_mb=max_upload_mb,
                    heatmap=heatmap, heatmap_size=heatmap_size, operating_point=operating_point)
    typer.echo(app_.state.predictor.describe(), err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can "
                   "upload images and read results", err=True)
    typer.echo(f"chestx viewer on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               "(Ctrl+C to stop)", err=True)
    run_server(app_, host=host, port=port)


@app.command("export")
def export_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="Trained model, e.g. RUN/best.pt."),
    fmt: str = typer.Option(..., "--format", help="onnx or torchscript."),
    out: Path = typer.Option(..., "--out", help="File to write (e.g. model.onnx, model.pt)."),
) -> None:
    """Export logits AND heatmaps (dynamic batch; normalization inside the graph)."""
    from chestx.inference.export import export_model

    path = export_model(checkpoint, fmt, out)
    typer.echo(f"wrote {path} ({fmt}; input 'images' (N, 1, S, S) in [0, 1]; "
               "outputs 'logits' (N, C), 'heatmaps' (N, C, s, s))")


# ------------------------------------------------- annotate: hand-drawn boxes, VOC files
boxes_app = typer.Typer(help="Convert boxes between BBox_List_2017.csv and PASCAL VOC XML files.",
                        no_args_is_help=True)
app.add_typer(boxes_app, name="boxes")


def _warn_if_exposed(host: str, what: str) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can "
                   f"{what}", err=True)


@app.command("annotate")
def annotate_command(
    data_dir: Path = typer.Argument(..., help="Dataset folder in the NIH layout."),
    checkpoint: str = typer.Option(None, "--checkpoint",
                                   help="Trained model (RUN/best.pt): its boxes as proposals."),
    annotator: str = typer.Option(None, "--annotator",
                                  help="Name saved with each box (default: the login name)."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
) -> None:
    """Draw finding boxes in the browser: one VOC XML per box in DATA_DIR/annotations/,
    DATA_DIR/BBox_List_2017.csv regenerated after every save."""
    from chestx.serve import run_server
    from chestx.serve.annotate import load_annotate_app

    app_, seeded = load_annotate_app(data_dir, checkpoint=checkpoint, annotator=annotator)
    if seeded:
        typer.echo(f"wrote the {seeded} boxes of {data_dir}/BBox_List_2017.csv as "
                   f"{data_dir}/annotations/*.xml", err=True)
    _warn_if_exposed(host, "read the images and change the boxes")
    typer.echo(f"chestx annotate on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               "(Ctrl+C to stop)", err=True)
    run_server(app_, host=host, port=port)


@boxes_app.command("export-voc")
def boxes_export_command(
    gt: Path = typer.Option(..., "--gt", help="BBox_List_2017.csv (or .csv.gz)."),
    out: Path = typer.Option(..., "--out", help="Empty folder for the .xml files."),
    images: Path = typer.Option(None, "--images",
                                help="Dataset folder: read each image's size from its file."),
    image_size: int = typer.Option(1024, "--image-size", min=1,
                                   help="Size written for images not found (NIH: 1024)."),
) -> None:
    """One PASCAL VOC XML per box: OUT/<image stem>_<finding>_<k>.xml."""
    from chestx.data.annotations import export_voc, image_size_reader

    written = export_voc(gt, out, image_size_reader(images, image_size))
    typer.echo(f"wrote {len(written)} VOC files to {out}")


@boxes_app.command("import-voc")
def boxes_import_command(
    folder: Path = typer.Argument(..., help="Folder of VOC .xml files (one box each)."),
    out: Path = typer.Option(..., "--out", help="BBox_List_2017.csv to write."),
) -> None:
    """BBox_List_2017.csv (NIH format) from a folder of VOC XML files; bad files are listed."""
    from chestx.data.annotations import import_voc

    count, bad = import_voc(folder, out)
    for path, reason in bad:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(f"wrote {count} boxes to {out}" + (f" ({len(bad)} files skipped)" if bad else ""))


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
