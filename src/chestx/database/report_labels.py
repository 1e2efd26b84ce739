"""Report texts of ingested images: the reports CSV, and the labeler on changed texts."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

from chestx.errors import ChestxError
from chestx.progress import track


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
        if report_sha1(text) != ids["ReportSHA1"]:
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
        id_map[index]["ReportSHA1"] = "" if labels[text] is None else report_sha1(text)
    return len(todo), unmatched


def report_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
