"""NIH numbering of ingested images: their names, table rows and patient-wise test split.

Patients and follow-ups are numbered in time order; each new image gets its
``Data_Entry_2017.csv`` and ``id_map.csv`` rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from chestx.data.nih import DATA_ENTRY_COLUMNS, parse_age
from chestx.data.splits import TEST_SHARE
from chestx.database.candidates import Candidate

ID_MAP_COLUMNS = ["Image Index", "PatientID", "StudyInstanceUID", "SeriesInstanceUID",
                  "SOPInstanceUID", "AccessionNumber", "StudyDate", "StudyTime", "Source",
                  "ReportSHA1"]
#: Written for an unknown Patient Age or pixel spacing: an empty cell, which
#: chestx.data.nih.read_data_entry reads as age -1 (nih.UNKNOWN) and spacing NaN. A number
#: such as 0 would pass for a real newborn or a real spacing.
UNKNOWN_CELL = ""


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


def in_test_split(patient_number: int, share: float = TEST_SHARE) -> bool:
    """Whether a patient belongs to ``test_list.txt``: a hash of its number, so the split is
    patient-wise, needs no state, and never moves an image when a rerun adds new ones."""
    digest = hashlib.sha1(f"chestx-ingest-test:{patient_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


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
