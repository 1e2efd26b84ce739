"""Study search on a PACS -> ``studies.csv``, the list a retrieve works through.

One :class:`StudyQuery` per search (the command line's filters, or each row of a cohort CSV);
each is sent once per modality (``ModalitiesInStudy`` matching one value is what every PACS
supports) and the answers are merged by StudyInstanceUID, keeping what was asked.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chestx.atomic import atomic_open
from chestx.database.pacs.transports import Transport
from chestx.errors import ChestxError

#: Columns of studies.csv (the query writes them, the retrieve reads them).
STUDY_COLUMNS = ["StudyInstanceUID", "AccessionNumber", "PatientID", "StudyDate",
                 "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "Query"]
#: Study-level keys asked for in every search.
STUDY_FIELDS = ["StudyInstanceUID", "AccessionNumber", "PatientID", "StudyDate",
                "StudyTime", "ModalitiesInStudy", "NumberOfStudyRelatedInstances"]
#: Cohort CSV columns (any case) that become query keys.
COHORT_KEYS = ("PatientID", "AccessionNumber", "StudyInstanceUID", "StudyDate")
DEFAULT_MODALITIES = ("CR", "DX")


def parse_date(text: str, option: str) -> str:
    """``2020-01-31`` or ``20200131`` -> ``20200131``; :class:`ChestxError` otherwise."""
    digits = text.strip().replace("-", "")
    try:
        dt.datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        raise ChestxError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None
    return digits


def parse_modalities(text: str) -> tuple[str, ...]:
    """``"CR,DX"`` -> ``("CR", "DX")``; ``""`` (any modality) -> ``()``."""
    return tuple(m.strip().upper() for m in text.split(",") if m.strip())


@dataclass
class StudyQuery:
    """One search: DICOM keys -> values (``StudyDate`` may be a range ``A-B``)."""

    keys: dict[str, str] = field(default_factory=dict)
    modalities: tuple[str, ...] = DEFAULT_MODALITIES

    @classmethod
    def from_options(cls, modalities: tuple[str, ...] = DEFAULT_MODALITIES,
                     since: str | None = None, until: str | None = None,
                     patient: str | None = None, accession: str | None = None) -> StudyQuery:
        keys = {}
        if since or until:
            low = parse_date(since, "--since") if since else ""
            high = parse_date(until, "--until") if until else ""
            if low and high and low > high:
                raise ChestxError(f"--since {since} is after --until {until}")
            keys["StudyDate"] = f"{low}-{high}"
        if patient:
            keys["PatientID"] = patient
        if accession:
            keys["AccessionNumber"] = accession
        return cls(keys, modalities)

    def describe(self, modality: str = "") -> str:
        """What was asked, for the Query column: ``PatientID=X;ModalitiesInStudy=CR``."""
        parts = [f"{k}={v}" for k, v in self.keys.items()]
        if modality:
            parts.append(f"ModalitiesInStudy={modality}")
        return ";".join(parts) or "all studies"


def read_cohort(path: str | os.PathLike, modalities: tuple[str, ...]) -> list[StudyQuery]:
    """A researcher's cohort list -> one :class:`StudyQuery` per row.

    Columns (any case, any order): among PatientID, AccessionNumber, StudyInstanceUID,
    StudyDate (a date or a range ``YYYYMMDD-YYYYMMDD``); other columns are ignored.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            names = {(n or "").strip().lower(): n for n in reader.fieldnames or []}
            columns = {key: names[key.lower()] for key in COHORT_KEYS if key.lower() in names}
            if not columns:
                raise ChestxError(f"{path}: needs one of the columns {', '.join(COHORT_KEYS)} "
                                  f"(found {reader.fieldnames})")
            queries = []
            for row in reader:
                keys = {k: (row.get(c) or "").strip() for k, c in columns.items()}
                keys = {k: v for k, v in keys.items() if v}
                if keys:
                    queries.append(StudyQuery(keys, modalities))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChestxError(f"{path}: cannot read the cohort list ({exc})") from exc
    if not queries:
        raise ChestxError(f"{path}: no row with a value to search for")
    return queries


def find_studies(transport: Transport, queries: Iterable[StudyQuery]) -> list[dict[str, str]]:
    """Send every query (once per modality); rows of :data:`STUDY_COLUMNS`, one per study,
    in order of PatientID, StudyDate, StudyInstanceUID."""
    studies: dict[str, dict[str, str]] = {}
    for query in queries:
        for modality in query.modalities or ("",):
            keys = dict(query.keys)
            if modality:
                keys["ModalitiesInStudy"] = modality
            for answer in transport.find("STUDY", keys, STUDY_FIELDS):
                uid = answer.get("StudyInstanceUID", "")
                if not uid:
                    continue
                row = studies.setdefault(uid, {c: answer.get(c, "") for c in STUDY_COLUMNS})
                asked = query.describe(modality)
                row["Query"] = asked if not row.get("Query") else \
                    " | ".join(dict.fromkeys(row["Query"].split(" | ") + [asked]))
    return sorted(studies.values(), key=lambda r: (r["PatientID"], r["StudyDate"],
                                                   r["StudyInstanceUID"]))


def write_studies(path: str | os.PathLike, rows: list[dict[str, str]]) -> None:
    """Write ``studies.csv`` atomically."""
    with atomic_open(path, "w") as handle:
        writer = csv.DictWriter(handle, STUDY_COLUMNS, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_studies(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a ``studies.csv`` (needs StudyInstanceUID; PatientID used when present)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "StudyInstanceUID" not in (reader.fieldnames or []):
                raise ChestxError(f"{path}: needs a StudyInstanceUID column (written by "
                                  "`chestx pacs query`)")
            rows = [{c: (r.get(c) or "").strip() for c in STUDY_COLUMNS} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChestxError(f"{path}: cannot read the study list ({exc})") from exc
    rows = [r for r in rows if r["StudyInstanceUID"]]
    if not rows:
        raise ChestxError(f"{path}: lists no study")
    return list({r["StudyInstanceUID"]: r for r in rows}.values())
