"""Batch labeling: stream reports from a CSV or a folder of ``.txt`` files into a labels CSV.

Input: a CSV with columns ``report_id,text`` (others ignored), or a folder of ``.txt`` files
(report_id = file stem, sorted by name). Output: one row per input report, in input order:
``report_id``, the 14 findings (1/0/-1/blank), ``Normal``, ``Finding Labels``. A report that
cannot be read (empty, not UTF-8, too long, a malformed CSV line) keeps its row with blank
labels and is listed in :attr:`LabelSummary.problems`; nothing is dropped.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from chestx.atomic import atomic_open
from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.progress import track
from chestx.reports.aggregate import ReportLabels, unreadable
from chestx.reports.labeler import Labeler, default_labeler

OUTPUT_COLUMNS = ("report_id", *FINDINGS, "Normal", "Finding Labels")


@dataclass
class Report:
    """One input report; ``problem`` says why it cannot be labeled ('' when fine)."""

    report_id: str
    text: str | None
    problem: str = ""


@dataclass
class LabelSummary:
    reports: int = 0
    problems: list[str] = field(default_factory=list)


_SURROGATE = re.compile("[\udc80-\udcff]")  # undecodable bytes (surrogateescape)


def _bad_utf8(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def iter_csv(path: Path) -> Iterator[Report]:
    """Stream the reports of a ``report_id,text`` CSV (constant memory)."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        record_lines: list[str] = []  # raw lines of the record being read (for bad ones)

        def lines() -> Iterator[str]:
            for line in handle:
                record_lines.append(line)
                yield line

        reader = csv.reader(lines(), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise ChestxError(f"{path}: empty file (expected columns report_id,text)") from None
        except csv.Error as exc:
            raise ChestxError(f"{path}: cannot read the CSV header ({exc})") from exc
        header = [h.strip().lstrip("\ufeff") for h in header]
        lacking = [c for c in ("report_id", "text") if c not in header]
        if lacking:
            raise ChestxError(f"{path}: missing column(s) {', '.join(lacking)} "
                              f"(found: {', '.join(header) or 'none'})")
        id_col, text_col = header.index("report_id"), header.index("text")
        row_number = 1
        while True:
            row_number += 1
            record_lines.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # the id is the first field of the record's first line, when it has one
                first = record_lines[0] if record_lines else ""
                rid = first.split(",", 1)[0].strip().strip('"') if id_col == 0 else ""
                yield Report(_clean_id(rid) or f"line{reader.line_num}", None,
                             f"malformed CSV line {reader.line_num}: {exc}")
                continue
            yield _csv_report(row, row_number, id_col, text_col, len(header))


def _csv_report(row: list[str], number: int, id_col: int, text_col: int,
                width: int) -> Report:
    rid = row[id_col].strip() if id_col < len(row) else ""
    rid = rid or f"row{number}"
    if len(row) != width:
        return Report(rid, None, f"malformed CSV row {number}: {len(row)} fields, "
                                 f"expected {width}")
    text = row[text_col]
    if _bad_utf8(text) or _bad_utf8(rid):
        return Report(_clean_id(rid), None, "text is not valid UTF-8")
    return Report(rid, text)


def _clean_id(rid: str) -> str:
    """A report id that can be written as UTF-8 (undecodable bytes become ``?``)."""
    return rid.encode("utf-8", "replace").decode("utf-8")


def iter_folder(folder: Path) -> Iterator[Report]:
    """Stream the ``.txt`` reports of a folder (sorted by name; report_id = file stem)."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
    if not paths:
        raise ChestxError(f"{folder}: no .txt reports in this folder")
    for path in paths:
        try:
            yield Report(path.stem, path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            yield Report(path.stem, None, f"{path.name} is not valid UTF-8")
        except OSError as exc:
            yield Report(path.stem, None, f"cannot read {path.name}: {exc.strerror}")


def iter_reports(source: str | Path) -> Iterator[Report]:
    """Reports of a CSV file or a folder of ``.txt`` files."""
    source = Path(source)
    if source.is_dir():
        return iter_folder(source)
    if not source.is_file():
        raise ChestxError(f"{source}: no such file or folder")
    return iter_csv(source)


def count_reports(source: str | Path) -> int | None:
    """Number of reports in ``source`` (a quick streaming pass; None if unreadable)."""
    source = Path(source)
    try:
        if source.is_dir():
            return sum(1 for p in source.iterdir() if p.suffix.lower() == ".txt")
        with open(source, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except (OSError, csv.Error):
        return None


def output_row(report_id: str, result: ReportLabels) -> list[str]:
    """A row of the labels CSV (blank cells when the report could not be labeled)."""
    if result.error:
        return [report_id] + [""] * (len(OUTPUT_COLUMNS) - 1)
    cells = ["" if result.labels[f] is None else str(result.labels[f]) for f in FINDINGS]
    return [report_id, *cells, str(result.normal), result.finding_labels]


def evidence_lines(report_id: str, result: ReportLabels) -> Iterator[str]:
    """One JSON line per mention (the evidence for each label)."""
    for m in result.mentions:
        yield json.dumps({"report_id": report_id, "finding": m.finding, "kind": m.kind,
                          "text": m.text, "start": m.start, "end": m.end,
                          "sentence": m.sentence, "status": m.status, "rule": m.rule,
                          "term": m.term},
                         ensure_ascii=False) + "\n"


def label_file(source: str | Path, output: str | Path, workers: int = 1,
               evidence: str | Path | None = None, labeler: Labeler | None = None,
               progress: bool = True) -> LabelSummary:
    """Label every report of ``source`` into ``output`` (and ``evidence``), atomically."""
    labeler = labeler or default_labeler()
    reports = iter_reports(source)
    first = next(reports, None)  # surface header errors before anything is written
    summary = LabelSummary()
    # reports are streamed once; those handed to the labeler wait in a queue for results
    pending: deque[Report] = deque()

    def texts() -> Iterator[str | None]:
        for report in chain([first] if first else [], reports):
            pending.append(report)
            yield None if report.problem else report.text

    with atomic_open(output, "w") as out, _maybe_open(evidence) as evid:
        writer = csv.writer(out)
        writer.writerow(OUTPUT_COLUMNS)
        results = labeler.label_reports(texts(), workers=workers)
        total = count_reports(source) if progress else None
        for result in track(results, "labeling reports", total=total, enabled=progress):
            report = pending.popleft()
            if report.problem or result.error:
                summary.problems.append(f"{report.report_id}: {report.problem or result.error}")
                result = result if result.error else unreadable(report.problem)
            writer.writerow(output_row(report.report_id, result))
            if evid is not None:
                evid.writelines(evidence_lines(report.report_id, result))
            summary.reports += 1
    return summary


class _NoFile:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _maybe_open(path):
    return atomic_open(path, "w") if path else _NoFile()
