"""Build a ChestX-ray14-style dataset from a hospital's DICOM files and reports (paper §2, §2.3).

``ingest(dicom_dir, out)`` walks ``dicom_dir``, keeps frontal radiographs, turns each into a
``size`` x ``size`` 8-bit PNG through the pixel path of :mod:`chestx.data.dicom`, numbers them
the NIH way and writes, all atomically::

    out/images/<patient:08d>_<followup:03d>.png
    out/Data_Entry_2017.csv      NIH v2020 columns (shareable: no identifiers)
    out/id_map.csv               private: PatientID, UIDs, AccessionNumber, source path
    out/ingest_errors.csv        path, reason: every file not turned into an image
    out/ingest_unlabeled.csv     private: images without a report (empty Finding Labels)
    out/train_val_list.txt, out/test_list.txt   NIH-style patient-wise split (20% test)

Which files become images: DICOM files (any name, with or without preamble) of a radiograph
(Modality CR/DX/DR/RG/OT or none; BodyPartExamined empty or a chest word), one frame, with
decodable pixel data, a frontal view (:func:`view_of`: ViewPosition PA/AP, else the keywords
of ``frontal_views.tsv`` in the descriptions; undecidable views are skipped unless
``unknown_views="keep"``; the rules live in :mod:`chestx.database.views`, shared with the PACS
retrieve), and a SOPInstanceUID not seen before. Unknown ages and pixel
spacings are written as empty cells (:func:`chestx.data.nih.read_data_entry` reads them as
age -1 and spacing NaN).

Reports: ``--reports`` CSV when given, else the DICOM SR documents of the folder
(:mod:`chestx.database.sr`), joined by StudyInstanceUID; encapsulated PDF reports are listed as not
read. Non-square images are stretched to the square (as NIH did) unless ``pad_square``.

Numbering: patients get 1, 2, ... in order of their first study (StudyDate, StudyTime, then
StudyInstanceUID); each patient's images get follow-ups 0, 1, ... in order of study date/time,
SeriesNumber, InstanceNumber. A rerun keeps every existing number: new patients are numbered
after the last one, new images of a known patient after its last follow-up.

Resuming: decoded images wait in ``out/.ingest_staging`` until numbered, so an interrupted run
loses nothing decoded; a rerun skips files already in ``id_map.csv`` (same SOPInstanceUID).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from chestx.atomic import atomic_open, atomic_write_text
from chestx.data.nih import DATA_ENTRY_COLUMNS, TEST_LIST, TRAIN_VAL_LIST
from chestx.database.candidates import Candidate, scan_file, select_candidate, stage_image
from chestx.database.numbering import (
    ID_MAP_COLUMNS,
    assign_indices,
    entry_row,
    id_row,
    in_test_split,
)
from chestx.database.report_labels import label_entries, read_reports, report_sha1
from chestx.errors import ChestxError
from chestx.progress import track

DATA_ENTRY = "Data_Entry_2017.csv"
ID_MAP = "id_map.csv"
ERRORS = "ingest_errors.csv"
UNLABELED = "ingest_unlabeled.csv"
STAGING = ".ingest_staging"
ERROR_COLUMNS = ["path", "reason"]
UNLABELED_COLUMNS = ["Image Index", "AccessionNumber", "StudyInstanceUID"]

UNKNOWN_VIEW_POLICIES = ("skip", "keep")


@dataclass
class IngestSummary:
    """What one :func:`ingest` run did (counts of files and images)."""

    scanned: int = 0
    added: int = 0
    already: int = 0
    errors: int = 0
    unlabeled: int = 0
    relabeled: int = 0
    reports_unmatched: int = 0
    sr_reports: int = 0
    total_images: int = 0
    out: Path = field(default_factory=Path)


def ingest(dicom_dir: str | os.PathLike, out: str | os.PathLike,
           reports: str | os.PathLike | None = None, workers: int = 1, size: int = 1024,
           unknown_views: str = "skip", pad_square: bool = False,
           progress: bool = True) -> IngestSummary:
    """Turn the DICOM files under ``dicom_dir`` into an NIH-layout dataset in ``out``.

    Args:
        dicom_dir: folder walked recursively (any file name; non-DICOM files are listed).
        out: dataset folder (created; an earlier ingest there is extended, never renumbered).
        reports: optional CSV with ``accession`` and/or ``study_uid`` and ``text``; without
            it, the texts of the DICOM SR reports found in ``dicom_dir`` label their studies
            (joined by StudyInstanceUID).
        workers: processes for reading/decoding (and for the labeler).
        size: side of the square PNGs (the paper: 1024).
        unknown_views: ``"skip"`` (list them as errors) or ``"keep"`` images whose view
            cannot be decided (written with an empty View Position).
        pad_square: centre non-square images on a black square before resizing (keeps the
            aspect ratio) instead of stretching them as NIH did.
        progress: draw progress bars on stderr.

    Returns an :class:`IngestSummary`. Raises :class:`ChestxError` for bad arguments or an
    ``out`` folder not written by ingest; a bad DICOM file never stops the run.
    """
    dicom_dir, out = Path(dicom_dir), Path(out)
    if not dicom_dir.is_dir():
        raise ChestxError(f"{dicom_dir}: DICOM folder not found")
    if size < 8:
        raise ChestxError(f"image size must be at least 8, not {size}", remedies={"size": None})
    if workers < 1:
        raise ChestxError(f"workers must be at least 1, not {workers}",
                          remedies={"workers": None})
    if unknown_views not in UNKNOWN_VIEW_POLICIES:
        raise ChestxError(f"unknown views policy must be one of {UNKNOWN_VIEW_POLICIES}",
                          remedies={"unknown_views": None})
    if reports is not None:
        read_reports(reports)  # fail on a bad reports file before hours of decoding
    out.mkdir(parents=True, exist_ok=True)
    entries, id_map = _load_state(out)
    summary = IngestSummary(out=out)

    files = [str(p.resolve()) for p in walk_files(dicom_dir, exclude=out.resolve())]
    summary.scanned = len(files)
    errors: dict[str, str] = {}
    sr_reports: dict[str, list[str]] = {}
    candidates, summary.already = _select(files, id_map, errors, sr_reports, unknown_views,
                                          workers, progress)
    summary.sr_reports = sum(len(texts) for texts in sr_reports.values())
    staging = out / STAGING
    good = _stage(candidates, staging, size, pad_square, errors, workers, progress)

    (out / "images").mkdir(exist_ok=True)
    names = assign_indices([c for c, _ in good], id_map)
    for (candidate, staged), index in zip(good, names, strict=True):
        os.replace(staged, out / "images" / index)
        entries[index] = entry_row(index, candidate)
        id_map[index] = id_row(index, candidate)
    summary.added = len(good)
    _write_outputs(out, entries, id_map, errors, files)  # the images are safe before labeling

    texts = read_reports(reports) if reports is not None else \
        ({}, {study: "\n\n".join(t) for study, t in sr_reports.items()})
    if reports is not None or sr_reports:
        summary.relabeled, summary.reports_unmatched = label_entries(
            entries, id_map, *texts, workers, progress)
        _write_outputs(out, entries, id_map, errors, files)
    summary.errors = len(errors)
    summary.unlabeled = sum(1 for ids in id_map.values() if not ids["ReportSHA1"])
    summary.total_images = len(entries)
    _remove_empty(staging)
    return summary


def _select(files: list[str], id_map: dict[str, dict], errors: dict[str, str],
            sr_reports: dict[str, list[str]], unknown_views: str, workers: int,
            progress: bool) -> tuple[list[Candidate], int]:
    """Read every header; return the new frontal candidates and how many files were already
    ingested. Every file not taken gets its reason in ``errors``; the texts of SR reports
    go to ``sr_reports`` by StudyInstanceUID (in file order)."""
    known = {ids["SOPInstanceUID"]: index for index, ids in id_map.items()}
    sources = {ids["Source"] for ids in id_map.values()}
    candidates: dict[str, Candidate] = {}
    already = 0
    for scan in _parallel_map(scan_file, files, workers, "reading headers", progress):
        if "report" in scan:
            study = scan["header"]["StudyInstanceUID"]
            if scan["report"] and study:
                sr_reports.setdefault(study, []).append(scan["report"])
            else:
                errors[scan["path"]] = ("SR report without text" if study else
                                        "SR report without StudyInstanceUID")
            continue
        taken = select_candidate(scan, unknown_views)
        if isinstance(taken, str):
            errors[scan["path"]] = taken
        elif taken.key in known:
            already += 1
            if taken.path not in sources:
                errors[taken.path] = (f"already ingested as {known[taken.key]} (same "
                                      "SOPInstanceUID, other file)")
        elif taken.key in candidates:
            errors[taken.path] = (f"duplicate of {candidates[taken.key].path} (same "
                                  "SOPInstanceUID)")
        else:
            candidates[taken.key] = taken
    return list(candidates.values()), already


def _stage(candidates: list[Candidate], staging: Path, size: int, pad_square: bool,
           errors: dict[str, str], workers: int,
           progress: bool) -> list[tuple[Candidate, str]]:
    """Decode the candidates into ``staging`` (kept there until numbered, for resuming);
    return ``(candidate, staged png)`` of those that worked, reasons of the rest in errors."""
    staging.mkdir(exist_ok=True)
    # the staged name says how it was drawn: a rerun with other settings draws it again
    jobs = [(c.path, str(staging / f"{report_sha1(c.key)}{'.pad' if pad_square else ''}.png"), size,
             pad_square) for c in candidates]
    reasons = _parallel_map(stage_image, jobs, workers, "decoding images", progress)
    good = []
    for candidate, job, reason in zip(candidates, jobs, reasons, strict=True):
        if reason:
            errors[candidate.path] = reason
        else:
            good.append((candidate, job[1]))
    return good


def _write_outputs(out: Path, entries: dict[str, dict], id_map: dict[str, dict],
                   errors: dict[str, str], scanned: list[str]) -> None:
    """Write the four CSVs atomically. Errors of files outside this run's walk are kept."""
    order = sorted(entries)
    ingested = {ids["Source"] for ids in id_map.values()}
    seen = set(scanned)
    old = [r for r in _read_csv(out / ERRORS, ERROR_COLUMNS)
           if r["path"] not in seen and r["path"] not in ingested]
    rows = old + [{"path": p, "reason": r} for p, r in errors.items()]
    _write_csv(out / ERRORS, ERROR_COLUMNS, sorted(rows, key=lambda r: r["path"]))
    _write_csv(out / ID_MAP, ID_MAP_COLUMNS, (id_map[i] for i in order))
    _write_csv(out / DATA_ENTRY, DATA_ENTRY_COLUMNS, (entries[i] for i in order))
    _write_csv(out / UNLABELED, UNLABELED_COLUMNS,
               (id_map[i] for i in order if not id_map[i]["ReportSHA1"]))
    test = [i for i in order if in_test_split(int(entries[i]["Patient ID"]))]
    atomic_write_text(out / TEST_LIST, "\n".join(test))  # NIH's lists end without a newline
    atomic_write_text(out / TRAIN_VAL_LIST, "\n".join(sorted(set(order) - set(test))))


def _load_state(out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """Existing ``(entries, id_map)``, both keyed by Image Index; checks they agree."""
    if (out / DATA_ENTRY).is_file() and not (out / ID_MAP).is_file():
        raise ChestxError(f"{out}: holds a {DATA_ENTRY} but no {ID_MAP}: not a folder written "
                          "by `chestx ingest`; choose an empty or new dataset folder",
                          remedies={"out": None})
    entries = {r["Image Index"]: r for r in _read_csv(out / DATA_ENTRY, DATA_ENTRY_COLUMNS)}
    id_map = {r["Image Index"]: r for r in _read_csv(out / ID_MAP, ID_MAP_COLUMNS)}
    if entries.keys() != id_map.keys():
        missing = sorted(entries.keys() ^ id_map.keys())[:3]
        raise ChestxError(f"{out}: {DATA_ENTRY} and {ID_MAP} list different images "
                          f"(e.g. {missing}); this folder was not written by `chestx ingest` "
                          "or was edited by hand")
    return entries, id_map


def _read_csv(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Rows of one of our CSVs as dicts (all strings); ``[]`` when the file is missing."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != columns:
            raise ChestxError(f"{path}: unexpected header {header} (expected {columns}); "
                              "was this folder written by `chestx ingest`?")
        return [dict(zip(columns, row, strict=True)) for row in reader if row]


def _write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, str]]) -> None:
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row.get(c, "") for c in columns] for row in rows)


def walk_files(root: Path, exclude: Path | None = None) -> list[Path]:
    """Every regular file under ``root`` (recursively, sorted), except under ``exclude``."""
    files = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if exclude is None or (here / d).resolve() != exclude)
        files += [here / n for n in sorted(names) if (here / n).is_file()]
    return files


def _parallel_map(function: Callable, items: list, workers: int, description: str,
                  progress: bool) -> Iterator:
    if workers <= 1 or len(items) < 2:
        yield from track(map(function, items), description, total=len(items), enabled=progress)
        return
    chunk = max(1, min(32, len(items) // (workers * 8)))
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from track(pool.map(function, items, chunksize=chunk), description,
                             total=len(items), enabled=progress)
    except BrokenProcessPool as exc:
        raise ChestxError(f"a worker process died while {description} (out of memory or a "
                          "crashing decoder); rerun to resume where it stopped, with fewer "
                          "worker processes", remedies={"workers": None}) from exc


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: staged images of files that failed later stay for the next run
