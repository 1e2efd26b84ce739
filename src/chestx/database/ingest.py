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
import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from chestx.atomic import atomic_open, atomic_path, atomic_write_text
from chestx.data.dicom import dicom_image, header_fields, read_dataset, to_gray8
from chestx.data.nih import DATA_ENTRY_COLUMNS, TEST_LIST, TRAIN_VAL_LIST, parse_age
from chestx.data.splits import TEST_SHARE
from chestx.database.sr import report_kind, report_text
from chestx.database.views import CHEST_BODY_PARTS, RADIOGRAPH_MODALITIES, view_of
from chestx.errors import ChestxError
from chestx.progress import track

DATA_ENTRY = "Data_Entry_2017.csv"
ID_MAP = "id_map.csv"
ERRORS = "ingest_errors.csv"
UNLABELED = "ingest_unlabeled.csv"
STAGING = ".ingest_staging"
ID_MAP_COLUMNS = ["Image Index", "PatientID", "StudyInstanceUID", "SeriesInstanceUID",
                  "SOPInstanceUID", "AccessionNumber", "StudyDate", "StudyTime", "Source",
                  "ReportSHA1"]
ERROR_COLUMNS = ["path", "reason"]
UNLABELED_COLUMNS = ["Image Index", "AccessionNumber", "StudyInstanceUID"]

UNKNOWN_VIEW_POLICIES = ("skip", "keep")
PNG_COMPRESS_LEVEL = 1
#: Written for an unknown Patient Age or pixel spacing: an empty cell, which
#: chestx.data.nih.read_data_entry reads as age -1 (nih.UNKNOWN) and spacing NaN. A number
#: such as 0 would pass for a real newborn or a real spacing.
UNKNOWN_CELL = ""


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


@dataclass
class Candidate:
    """A frontal DICOM file that may become an image; ``key`` is its SOPInstanceUID (or
    ``sha1:<hex>`` of the file when it has none)."""

    path: str
    key: str
    view: str
    rows: int
    columns: int
    spacing: tuple[float, float] | None
    header: dict[str, str]


# ------------------------------------------------------------------ metadata
def age_years(header: dict[str, str]) -> str:
    """Age in whole years: from PatientAge (``058Y``, ``011M``), else PatientBirthDate and the
    study date; ``""`` when neither is usable."""
    if header.get("PatientAge"):
        try:
            return str(parse_age(header["PatientAge"]))
        except ValueError:
            pass
    birth = _date(header.get("PatientBirthDate", ""))
    when = next((d for d in (_date(header.get(k, "")) for k in
                             ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")) if d),
                None)
    if birth and when and when >= birth:
        return str(when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day)))
    return ""


def study_order(candidate: Candidate) -> tuple:
    """Sort key of an image in time: study date/time (missing = last), UIDs, numbers."""
    header = candidate.header
    date = header.get("StudyDate", "") if _date(header.get("StudyDate", "")) else ""
    time = re.sub(r"\D", "", header.get("StudyTime", "").split(".")[0])[:6].ljust(6, "0")
    return (date or "99999999", time if header.get("StudyTime") else "999999",
            header.get("StudyInstanceUID", ""), _int(header.get("SeriesNumber")),
            _int(header.get("InstanceNumber")), candidate.key)


def patient_key(patient_id: str, study_uid: str, key: str) -> str:
    """Who an image belongs to: its PatientID; without one, its study (or itself)."""
    if patient_id:
        return patient_id
    return f"study:{study_uid}" if study_uid else f"image:{key}"


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text.strip()[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _int(value: str | None) -> int:
    try:
        return int(float(value)) if value else 0
    except ValueError:
        return 0


# ------------------------------------------------------------------ per-file workers
def scan_file(path: str) -> dict:
    """Read one file's header (no pixels). Returns ``{"path", "error"}``, for a DICOM SR
    report ``{"path", "header", "report"}`` (its text, :func:`chestx.database.sr.report_text`),
    else ``{"path", "header", "rows", "columns", "spacing", "frames"}``.
    Runs in worker processes: takes and returns plain, picklable values."""
    try:
        ds = read_dataset(path, pixels=False)
        kind = report_kind(ds)
        if kind == "sr":
            return {"path": path, "header": header_fields(ds), "report": report_text(ds)}
        if kind == "pdf":
            return {"path": path, "error": "encapsulated PDF report, not read (only DICOM SR "
                                           "text and --reports CSV are read)"}
        image = dicom_image(ds, path, pixels=False)
    except ChestxError as exc:
        return {"path": path, "error": _reason(exc, path)}
    except Exception as exc:  # a bug or an exotic file must not stop the whole run
        return {"path": path, "error": f"cannot read ({type(exc).__name__}: {exc})"}
    return {"path": path, "header": image.header, "rows": image.rows, "columns": image.columns,
            "spacing": image.pixel_spacing, "frames": image.frames}


def stage_image(job: tuple[str, str, int, bool]) -> str:
    """Decode ``path``, resize to ``size`` square and write the PNG ``staged`` (atomically);
    skipped when ``staged`` exists (resume). A non-square image is stretched (as NIH did),
    or with ``pad_square`` centred on a black square first, keeping its aspect ratio.
    Returns ``""`` or the reason it failed."""
    path, staged, size, pad_square = job
    if Path(staged).is_file():
        return ""
    try:
        gray, _ = to_gray8(read_dataset(path, pixels=True), path)
        image = Image.fromarray(pad_to_square(gray) if pad_square else gray, mode="L")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)  # antialiased
        with atomic_path(staged) as tmp:
            # zlib level 1: ~5x faster than PIL's default 6 on radiographs, ~10% bigger files
            image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    except ChestxError as exc:
        return _reason(exc, path)
    except Exception as exc:  # a bug or an exotic file must not stop the whole run
        return f"cannot convert ({type(exc).__name__}: {exc})"
    return ""


def pad_to_square(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> ``(S, S)`` with ``S = max(H, W)``: the image centred on black (0)."""
    height, width = gray.shape
    side = max(height, width)
    square = np.zeros((side, side), dtype=gray.dtype)
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = gray
    return square


def _reason(exc: ChestxError, path: str) -> str:
    """The error message without the leading ``path:`` (the CSV has its own path column)."""
    text = str(exc)
    return text[len(path) + 2:] if text.startswith(f"{path}: ") else text


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


# ------------------------------------------------------------------ dataset state
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


def walk_files(root: Path, exclude: Path | None = None) -> list[Path]:
    """Every regular file under ``root`` (recursively, sorted), except under ``exclude``."""
    files = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if exclude is None or (here / d).resolve() != exclude)
        files += [here / n for n in sorted(names) if (here / n).is_file()]
    return files


# ------------------------------------------------------------------ reports
def read_reports(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, str]]:
    """``REPORTS.csv`` -> ``(text by accession, text by study_uid)``.

    Columns (any case): ``text`` and ``accession`` and/or ``study_uid``. Several rows for one
    key are joined (blank line between) in file order. Raises :class:`ChestxError`.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            names = {(n or "").strip().lower(): n for n in reader.fieldnames or []}
            if "text" not in names or not ({"accession", "study_uid"} & names.keys()):
                raise ChestxError(f"{path}: needs a 'text' column and an 'accession' or "
                                  f"'study_uid' column (found {reader.fieldnames})")
            by_accession: dict[str, list[str]] = {}
            by_study: dict[str, list[str]] = {}
            for row in reader:
                text = (row.get(names["text"]) or "").strip()
                for column, table in (("accession", by_accession), ("study_uid", by_study)):
                    key = (row.get(names.get(column, ""), "") or "").strip()
                    if key:
                        table.setdefault(key, []).append(text)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChestxError(f"{path}: cannot read reports ({exc})") from exc
    return ({k: "\n\n".join(v) for k, v in by_accession.items()},
            {k: "\n\n".join(v) for k, v in by_study.items()})


def label_entries(entries: dict[str, dict], id_map: dict[str, dict],
                  by_accession: dict[str, str], by_study: dict[str, str],
                  workers: int, progress: bool) -> tuple[int, int]:
    """Fill ``Finding Labels`` of ``entries`` from report texts (matched by AccessionNumber,
    else StudyInstanceUID) with :func:`chestx.reports.label_reports`, in place.

    Only images whose report text changed since the last run (``ReportSHA1`` in the id map)
    are labeled again. Returns ``(relabeled images, reports matching no image)``.
    """
    from chestx.reports import label_reports  # lazy: the labeler loads spaCy

    todo: dict[str, str] = {}  # Image Index -> report text
    used_accessions, used_studies = set(), set()
    for index, ids in id_map.items():
        accession, study = ids["AccessionNumber"], ids["StudyInstanceUID"]
        if accession and accession in by_accession:
            text = by_accession[accession]
            used_accessions.add(accession)
        elif study and study in by_study:
            text = by_study[study]
            used_studies.add(study)
        else:
            continue
        if _sha1(text) != ids["ReportSHA1"]:
            todo[index] = text
    unmatched = len(by_accession.keys() - used_accessions) if by_accession \
        else len(by_study.keys() - used_studies)
    texts = sorted(set(todo.values()))
    results = track(label_reports(texts, workers=workers), "labeling reports",
                    total=len(texts), enabled=progress)
    # a report the labeler cannot read (empty, too long) leaves its images unlabeled
    labels = {text: None if getattr(result, "error", "") else result.finding_labels
              for text, result in zip(texts, results, strict=True)}
    for index, text in todo.items():
        entries[index]["Finding Labels"] = labels[text] or ""
        id_map[index]["ReportSHA1"] = "" if labels[text] is None else _sha1(text)
    return len(todo), unmatched


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ numbering
def assign_indices(candidates: list[Candidate], id_map: dict[str, dict]) -> list[str]:
    """NIH names ``<patient:08d>_<followup:03d>`` for new ``candidates`` (same order).

    Existing names in ``id_map`` never change: known patients keep their number and continue
    after their last follow-up; new patients are numbered after the highest one, in order of
    their first study; each patient's new images follow :func:`study_order`.
    """
    patient_number: dict[str, int] = {}
    last_followup: dict[int, int] = {}
    for index, ids in id_map.items():
        number, followup = int(index[:8]), int(index.split("_")[1].split(".")[0])
        patient_number[patient_key(ids["PatientID"], ids["StudyInstanceUID"],
                                   ids["SOPInstanceUID"])] = number
        last_followup[number] = max(last_followup.get(number, -1), followup)
    owner = [patient_key(c.header["PatientID"], c.header["StudyInstanceUID"], c.key)
             for c in candidates]
    first_study: dict[str, tuple] = {}
    for who, candidate in zip(owner, candidates, strict=True):
        order = study_order(candidate)
        if who not in first_study or order < first_study[who]:
            first_study[who] = order
    next_number = max(patient_number.values(), default=0) + 1
    for who in sorted(first_study, key=lambda w: (first_study[w], w)):
        if who not in patient_number:
            patient_number[who] = next_number
            next_number += 1
    names = [""] * len(candidates)
    for i in sorted(range(len(candidates)), key=lambda i: study_order(candidates[i])):
        number = patient_number[owner[i]]
        last_followup[number] = last_followup.get(number, -1) + 1
        names[i] = f"{number:08d}_{last_followup[number]:03d}.png"
    return names


def entry_row(index: str, candidate: Candidate) -> dict[str, str]:
    """The ``Data_Entry_2017.csv`` row of a new image (``Finding Labels`` empty)."""
    header = candidate.header
    spacing = candidate.spacing
    number, followup = (int(part) for part in index.removesuffix(".png").split("_"))
    values = [index, "", str(followup), str(number), age_years(header) or UNKNOWN_CELL,
              header.get("PatientSex", "").upper()[:1], candidate.view,
              str(candidate.columns), str(candidate.rows),
              *((f"{spacing[0]:.6g}", f"{spacing[1]:.6g}") if spacing else
                (UNKNOWN_CELL, UNKNOWN_CELL))]
    return dict(zip(DATA_ENTRY_COLUMNS, values, strict=True))


def id_row(index: str, candidate: Candidate) -> dict[str, str]:
    """The private ``id_map.csv`` row of a new image."""
    header = candidate.header
    row = {name: header.get(name, "") for name in ID_MAP_COLUMNS}
    row.update({"Image Index": index, "SOPInstanceUID": candidate.key,
                "Source": candidate.path, "ReportSHA1": ""})
    return row


# ------------------------------------------------------------------ the run
def select_candidate(scan: dict, unknown_views: str) -> Candidate | str:
    """A scanned file -> :class:`Candidate`, or the reason it is not taken (a string)."""
    if "error" in scan:
        return scan["error"]
    header, path = scan["header"], scan["path"]
    modality = header.get("Modality", "").upper()
    if modality not in RADIOGRAPH_MODALITIES:
        return f"modality {modality} is not a radiograph"
    body_part = header.get("BodyPartExamined", "")
    if body_part and not CHEST_BODY_PARTS.search(body_part):
        return f"body part {body_part!r} is not a chest"
    if scan["frames"] > 1:
        return f"multi-frame image ({scan['frames']} frames), not a radiograph"
    if scan["rows"] < 1 or scan["columns"] < 1:
        return "no image (Rows/Columns missing)"
    view, source = view_of(header)
    if view in ("LATERAL", "OTHER"):
        return f"not a frontal view ({source})"
    if not view:
        if unknown_views == "skip":
            return (f"view unknown ({source}, no PA/AP/lateral keyword in the header; "
                    "--unknown-views keep takes it)")
        view = ""
    key = header.get("SOPInstanceUID", "")
    if not key:
        key = "sha1:" + hashlib.sha1(Path(path).read_bytes()).hexdigest()
    return Candidate(path=path, key=key, view=view, rows=scan["rows"], columns=scan["columns"],
                     spacing=scan["spacing"], header=header)


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
    jobs = [(c.path, str(staging / f"{_sha1(c.key)}{'.pad' if pad_square else ''}.png"), size,
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


def in_test_split(patient_number: int, share: float = TEST_SHARE) -> bool:
    """Whether a patient belongs to ``test_list.txt``: a hash of its number, so the split is
    patient-wise, needs no state, and never moves an image when a rerun adds new ones."""
    digest = hashlib.sha1(f"chestx-ingest-test:{patient_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: staged images of files that failed later stay for the next run

