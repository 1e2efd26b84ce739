"""De-identification: the DICOM PS3.15 Basic Application Level Confidentiality Profile, with
``dicognito``, consistent across a job, the key kept apart from the dataset.

- One patient, one pseudonym: each patient gets its own dicognito ``Anonymizer`` seeded with
  the job's secret and the patient's original ID, so every file of that patient (in this run
  or a resumed one) gets the same PatientID, name, accession numbers and UIDs (studies and
  series still group), and its dates move by the same offset (intervals between studies,
  hence follow-up order and ages, are kept).
- Report text (SR TextValue and every other free-text element: ST, LT, UT) is scrubbed of
  the patient's names, IDs, accession numbers and birth date before the profile runs; they
  are replaced with the pseudonyms.
- Burned-in annotation: files whose BurnedInAnnotation says YES (or, with
  ``burned_in="unless-no"``, anything but NO) are flagged: listed for a human to check, since
  no header profile removes text in the pixels.
- The key (the secret and the original -> pseudonym table) is a SQLite file that must live
  outside the dataset; :func:`default_key_path` puts it in a ``<folder>-private`` sibling.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from dicognito.anonymizer import Anonymizer
from dicognito.filters import BurnedInAnnotationGuard
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from chestx.atomic import atomic_path, atomic_write_text
from chestx.errors import ChestxError
from chestx.progress import track

#: Free-text VRs scrubbed of the patient's identifiers.
TEXT_VRS = ("ST", "LT", "UT")
#: Identifier elements whose original values are removed from free text.
ID_KEYWORDS = ("PatientID", "AccessionNumber", "OtherPatientIDs", "StudyID")
BURNED_IN_POLICIES = BurnedInAnnotationGuard.ASSUME_IF_CHOICES  # if-yes, unless-no, never
KEY_NAME = "deid_key.sqlite"
FLAG_LIST = "burned_in_annotation.csv"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def default_key_path(dataset_dir: str | os.PathLike) -> Path:
    """``<dataset_dir>-private/deid_key.sqlite``: beside the dataset, never inside it."""
    dataset_dir = Path(dataset_dir).resolve()
    return dataset_dir.parent / f"{dataset_dir.name}-private" / KEY_NAME


def safe_component(text: str) -> str:
    """A value usable as one path component (``_`` for anything else; never empty)."""
    return SAFE_NAME.sub("_", text.strip()) or "_none"


def instance_path(root: Path, ds_or_ids) -> Path:
    """``root/<PatientID>/<StudyUID>/<SeriesUID>/<SOPUID>.dcm`` of a dataset or a 4-tuple."""
    if isinstance(ds_or_ids, Dataset):
        ids = tuple(str(ds_or_ids.get(k, "")) for k in ("PatientID", "StudyInstanceUID",
                                                         "SeriesInstanceUID", "SOPInstanceUID"))
    else:
        ids = tuple(ds_or_ids)
    *folders, sop = (safe_component(v) for v in ids)
    return root.joinpath(*folders, f"{sop}.dcm")


class Pseudonymizer:
    """Applies the profile to datasets, consistently for a whole job; keeps the key.

    Parameters
    ----------
    key_path : SQLite key file (created; an existing key continues the same pseudonyms).
    burned_in : when a file is flagged for burned-in annotation (dicognito's choices).
    protect : a folder the key must not be inside (the dataset); :class:`ChestxError` if so.
    """

    def __init__(self, key_path: str | os.PathLike, burned_in: str = "if-yes",
                 protect: str | os.PathLike | None = None) -> None:
        self.key_path = Path(key_path).resolve()
        if protect is not None and self.key_path.is_relative_to(Path(protect).resolve()):
            raise ChestxError(f"{self.key_path}: the de-identification key must not be "
                              f"inside the output folder {protect}; choose --key elsewhere")
        if burned_in not in BURNED_IN_POLICIES:
            raise ChestxError(f"burned-in policy must be one of {BURNED_IN_POLICIES}")
        self.burned_in = burned_in
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.key_path, check_same_thread=False)
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS secret (value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS pseudonyms (kind TEXT, original TEXT, pseudonym TEXT,
                patient TEXT, PRIMARY KEY (kind, original));
        """)
        row = self._db.execute("SELECT value FROM secret").fetchone()
        if row is None:
            self._db.execute("INSERT INTO secret VALUES (?)", (secrets.token_hex(32),))
            self._db.commit()
            row = self._db.execute("SELECT value FROM secret").fetchone()
        self._secret = row[0]
        self._anonymizers: dict[str, Anonymizer] = {}

    def _anonymizer(self, patient_id: str) -> Anonymizer:
        if patient_id not in self._anonymizers:
            self._anonymizers[patient_id] = Anonymizer(seed=f"{self._secret}/{patient_id}")
        return self._anonymizers[patient_id]

    def pseudonymous_ids(self, patient_id: str, study: str, series: str,
                         sop: str) -> tuple[str, str, str, str]:
        """The (PatientID, StudyUID, SeriesUID, SOPUID) these originals will get."""
        probe = Dataset()
        probe.file_meta = pydicom.dataset.FileMetaDataset()
        probe.PatientID, probe.StudyInstanceUID = patient_id, study
        probe.SeriesInstanceUID, probe.SOPInstanceUID = series, sop
        with self._lock:
            self._anonymizer(patient_id).anonymize(probe)
        return (str(probe.PatientID), str(probe.StudyInstanceUID),
                str(probe.SeriesInstanceUID), str(probe.SOPInstanceUID))

    def deidentify(self, ds: Dataset) -> bool:
        """Apply the profile to ``ds`` in place; returns whether it is flagged for burned-in
        annotation."""
        patient_id = str(ds.get("PatientID", "")).strip()
        originals = identifiers(ds)
        with self._lock:
            pseudonyms = _pseudonyms_for(self._anonymizer(patient_id), ds)
            scrub_text(ds, originals, pseudonyms)
            self._anonymizer(patient_id).anonymize(ds)
            self._remember(patient_id, originals, ds)
        value = str(ds.get("BurnedInAnnotation", "")).strip().upper()
        return (self.burned_in == "if-yes" and value == "YES") or \
            (self.burned_in == "unless-no" and value != "NO")

    def _remember(self, patient_id: str, originals: dict[str, list[str]], ds: Dataset) -> None:
        rows = [("PatientID", patient_id, str(ds.get("PatientID", "")), patient_id)]
        for kind in ("AccessionNumber", "StudyInstanceUID"):
            for value in originals.get(kind, []):
                rows.append((kind, value, str(ds.get(kind, "")), patient_id))
        self._db.executemany("INSERT OR IGNORE INTO pseudonyms VALUES (?, ?, ?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def identifiers(ds: Dataset) -> dict[str, list[str]]:
    """The identifying values of ``ds`` to scrub from text: ids, name parts, birth date."""
    found: dict[str, list[str]] = {}
    for keyword in (*ID_KEYWORDS, "StudyInstanceUID"):
        value = ds.get(keyword)
        values = list(value) if isinstance(value, MultiValue | list) else [value]
        found[keyword] = [str(v).strip() for v in values if v is not None and str(v).strip()]
    name = ds.get("PatientName")
    parts = []
    if name:
        parts = [p for p in re.split(r"[\^= ]+", str(name)) if len(p) >= 2]
    found["PatientName"] = parts
    birth = str(ds.get("PatientBirthDate", "")).strip()
    found["PatientBirthDate"] = [birth] if len(birth) == 8 and birth.isdigit() else []
    return found


def _pseudonyms_for(anonymizer: Anonymizer, ds: Dataset) -> dict[str, str]:
    """What ``anonymizer`` will write for the identifiers of ``ds`` (probed on a copy)."""
    probe = Dataset()
    probe.file_meta = pydicom.dataset.FileMetaDataset()
    for keyword in ("PatientID", "AccessionNumber", "PatientName"):
        if keyword in ds:
            setattr(probe, keyword, ds.get(keyword))
    anonymizer.anonymize(probe)
    return {k: str(probe.get(k, "")) for k in ("PatientID", "AccessionNumber", "PatientName")}


def scrub_text(ds: Dataset, originals: dict[str, list[str]], pseudonyms: dict[str, str]) -> None:
    """Replace the patient's identifiers in every free-text element of ``ds`` (recursively)."""
    replacements: list[tuple[str, str]] = []
    for value in originals.get("PatientID", []) + originals.get("OtherPatientIDs", []):
        replacements.append((value, pseudonyms.get("PatientID", "")))
    for value in originals.get("AccessionNumber", []) + originals.get("StudyID", []):
        replacements.append((value, pseudonyms.get("AccessionNumber", "")))
    for part in originals.get("PatientName", []):
        replacements.append((part, "[name]"))
    for birth in originals.get("PatientBirthDate", []):
        year, month, day = birth[:4], birth[4:6], birth[6:]
        for form in (birth, f"{year}-{month}-{day}", f"{month}/{day}/{year}",
                     f"{day}.{month}.{year}"):
            replacements.append((form, "[birth date]"))
    patterns = [(re.compile(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])", re.I), new)
                for old, new in sorted(replacements, key=lambda r: -len(r[0])) if old]
    if not patterns:
        return

    def visit(dataset: Dataset, element) -> None:
        if element.VR in TEXT_VRS and isinstance(element.value, str):
            text = element.value
            for pattern, new in patterns:
                text = pattern.sub(new, text)
            element.value = text

    ds.walk(visit)


@dataclass
class FolderResult:
    """What :func:`deidentify_folder` did."""

    written: int = 0
    already: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    flag_list: Path = field(default_factory=Path)


def deidentify_folder(src: str | os.PathLike, dst: str | os.PathLike,
                      key_path: str | os.PathLike, burned_in: str = "if-yes",
                      progress: bool = True) -> FolderResult:
    """De-identify every DICOM file under ``src`` into ``dst/<PatientID>/<Study>/<Series>/
    <SOP>.dcm`` (pseudonymous names, atomic writes; files already there are kept: resumable).

    Non-DICOM files are skipped (their reason returned); flagged files are listed in
    ``dst/burned_in_annotation.csv`` (pseudonymous paths only).
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise ChestxError(f"{src}: DICOM folder not found")
    pseudonymizer = Pseudonymizer(key_path, burned_in=burned_in, protect=dst.parent)
    result = FolderResult(flag_list=dst / FLAG_LIST)
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.is_relative_to(dst))
    try:
        for path in track(files, "de-identifying", enabled=progress):
            try:
                ds = pydicom.dcmread(path)
                ids = [str(ds.get(k, "")) for k in ("PatientID", "StudyInstanceUID",
                                                    "SeriesInstanceUID", "SOPInstanceUID")]
            except Exception as exc:  # not DICOM, or too broken to read: listed
                result.skipped[str(path)] = f"not read ({type(exc).__name__})"
                continue
            target = instance_path(dst, pseudonymizer.pseudonymous_ids(*ids))
            if target.is_file():
                result.already += 1
                continue
            if pseudonymizer.deidentify(ds):
                result.flagged.append(str(target.relative_to(dst)))
            write_dataset(ds, target)
            result.written += 1
    finally:
        pseudonymizer.close()
    if result.flagged:
        atomic_write_text(result.flag_list, "path\n" + "\n".join(result.flagged) + "\n")
    return result


def write_dataset(ds: Dataset, path: Path) -> int:
    """Save ``ds`` atomically at ``path``; returns the file's size in bytes."""
    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=bool(getattr(ds, "file_meta", None)))
    return path.stat().st_size
