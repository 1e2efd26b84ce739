"""What ``chestx pacs query``, ``retrieve`` and ``sandbox`` take (no third-party imports: the
CLI reads this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chestx.fields import option


def dicomweb_option() -> Any:
    return option(None, "DICOMweb root URL (QIDO-RS / WADO-RS).")


def dimse_option() -> Any:
    return option(None, "DIMSE peer AET@HOST:PORT (C-FIND, C-GET/C-MOVE).")


def aet_option() -> Any:
    return option("CHESTX", "Our AE title (DIMSE).")


def modality_option() -> Any:
    return option("CR,DX", "Modalities to take ('' = any).")


def timeout_option() -> Any:
    return option(60.0, "Seconds before a request times out.")


#: DIMSE associations a retrieve keeps open at once: half of the 4 DICOM worker threads a
#: default Orthanc serves with (``DicomThreadsCount``), so that a PACS is never starved.
DEFAULT_MAX_ASSOCIATIONS = 2

@dataclass
class QueryConfig:
    """Settings of :func:`chestx.database.pacs.job.run_query`."""

    output: Path = option(help="studies.csv to write.", flags=("-o", "--output"))
    dicomweb: str | None = dicomweb_option()
    dimse: str | None = dimse_option()
    aet: str = aet_option()
    modality: str = modality_option()
    since: str | None = option(None, "First study date (YYYY-MM-DD).")
    until: str | None = option(None, "Last study date (YYYY-MM-DD).")
    patient: str | None = option(None, "PatientID.")
    accession: str | None = option(None, "AccessionNumber.")
    from_csv: Path | None = option(None, "Cohort CSV: one query per row (PatientID, "
                                         "AccessionNumber, StudyInstanceUID, StudyDate).")
    timeout: float = timeout_option()


@dataclass
class RetrieveConfig:
    """Settings of :func:`chestx.database.pacs.job.run_retrieve`."""

    studies: Path = option(help="studies.csv from `chestx pacs query`.")
    out: Path = option(help="Folder: OUT/<PatientID>/<Study>/<Series>/<SOP>.dcm, and the job "
                            "state.")
    dicomweb: str | None = dicomweb_option()
    dimse: str | None = dimse_option()
    aet: str = aet_option()
    move_dest: str | None = option(None, "C-MOVE to this AE title (our own storage SCP) "
                                         "instead of C-GET.")
    store_port: int | None = option(None, "Port of that storage SCP.")
    store_host: str = option("127.0.0.1", "Address it listens on.")
    modality: str = modality_option()
    max_concurrent: int = option(2, "Studies fetched at the same time.", min=1)
    max_associations: int = option(DEFAULT_MAX_ASSOCIATIONS, "DIMSE associations open at once "
                                   "(default: half of the 4 DICOM threads of a default "
                                   "Orthanc); studies in flight beyond share requests.", min=1)
    retries: int = option(3, "Tries again per study.", min=0)
    backoff: float = option(1.0, "First wait before a retry, seconds (doubles each time).")
    window: str | None = option(None, "Run only in these hours, e.g. 19:00-07:00 (sleeps "
                                      "outside).")
    deidentify: bool = option(False, "Apply the PS3.15 basic profile to every file "
                                     "(consistent pseudonyms).", flags=("--deidentify",))
    key: Path | None = option(None, "De-identification key (default: "
                                    "OUT-private/deid_key.sqlite, outside OUT).")
    burned_in: str = option("if-yes", "Flag burned-in annotation: if-yes, unless-no or never.")
    timeout: float = timeout_option()


@dataclass
class SandboxConfig:
    """Settings of :func:`chestx.database.pacs.sandbox.run_sandbox`."""

    folder: Path = option(help="Folder for Orthanc's storage, configuration and log.",
                          argument=True)
    dicom: list[Path] = option([], "DICOM files or folders to upload (walked recursively).",
                               argument=True, metavar="DICOM_DIR...")
    peer: list[str] = option([], "AET:PORT of an AE allowed to query and retrieve, and a "
                                 "C-MOVE destination (repeatable).")
