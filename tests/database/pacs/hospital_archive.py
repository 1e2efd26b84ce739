"""A small hospital's archive for the pacs tests, written with chestx.synth.dicoms
(64 px images), and the start of a sandbox Orthanc (chestx.database.pacs.sandbox, also the
`chestx pacs sandbox` command)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import chestx.synth.dicoms as samples
from chestx.database.pacs import sandbox as orthanc_sandbox

#: Our AE titles registered at the PACS (C-MOVE destination = our storage SCP).
OUR_AET = "CHESTX"
SIZE = 64

P1 = {"patient_id": "MRN7731", "patient_name": "DOE^JANE", "birth_date": "19600412"}
P2 = {"patient_id": "MRN8842", "patient_name": "ROE^RICHARD", "birth_date": "19711103"}
P3 = {"patient_id": "MRN9953", "patient_name": "POE^EDGAR", "birth_date": "19500119"}
REPORTS = {
    "ACC-1001": {"Findings": "Patient Jane Doe, MRN7731. The heart is enlarged. Lungs clear.",
                 "Impression": "Cardiomegaly."},
    "ACC-1002": {"Findings": "Large left pleural effusion.", "Impression": "Effusion."},
    "ACC-1003": {"Findings": "The lungs are clear. No effusion or pneumothorax.",
                 "Impression": "No acute cardiopulmonary disease."},
}


@dataclass
class Hospital:
    """What the archive holds, for the tests to check against."""

    root: Path
    studies: dict[str, dict] = field(default_factory=dict)  # accession -> facts
    frontal: list[str] = field(default_factory=list)  # SOP UIDs to fetch (images)
    reports: list[str] = field(default_factory=list)  # SOP UIDs of SR documents
    lateral: list[str] = field(default_factory=list)  # series UIDs never fetched
    ct: list[str] = field(default_factory=list)  # series UIDs never fetched


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _image(path: Path, rng, *, sop_list: list, **kwargs) -> str:
    sop = samples.generate_uid()
    stored = samples.chest_phantom(SIZE, SIZE, rng)
    samples.write_dicom(path, stored, bits_stored=12, window=(2048, 4096), sop_uid=sop,
                        **kwargs)
    sop_list.append(sop)
    return sop


def build_hospital(root: Path) -> Hospital:
    """Patient 1: three studies (2021 DX PA, 2020-01 CR PA + lateral series + a CT series,
    2020-06 DX AP), each with an SR report; patient 2: a DX study without report; patient 3:
    a CT-only chest study (never matches CR/DX)."""
    rng = np.random.default_rng(0)
    hospital = Hospital(root)
    p1 = {k: P1[k] for k in ("patient_id", "birth_date")}
    plan = [("ACC-1001", "20200115", "CR", "PA", "basic"),
            ("ACC-1002", "20200620", "DX", "AP", "comprehensive"),
            ("ACC-1003", "20210302", "DX", "PA", "enhanced")]
    for accession, date, modality, view, kind in plan:
        study = samples.generate_uid()
        common = dict(study_uid=study, accession=accession, study_date=date, **p1)
        folder = root / accession
        _image(folder / "img.dcm", rng, sop_list=hospital.frontal, modality=modality,
               view=view, extra={"PatientName": P1["patient_name"]}, **common)
        sr = folder / "sr.dcm"
        samples.write_sr(sr, REPORTS[accession], kind=kind,
                         patient_name=P1["patient_name"], **common)
        hospital.reports.append(str(samples.pydicom.dcmread(sr).SOPInstanceUID))
        hospital.studies[accession] = {"study": study, "date": date, "patient": P1}
    first = hospital.studies["ACC-1001"]["study"]
    lateral = samples.write_dicom(root / "ACC-1001" / "lat.dcm",
                                  samples.chest_phantom(SIZE, SIZE, rng), bits_stored=12,
                                  window=(2048, 4096), view="LL", modality="CR",
                                  study_uid=first, accession="ACC-1001",
                                  study_date="20200115", **p1)
    hospital.lateral.append(str(samples.pydicom.dcmread(lateral).SeriesInstanceUID))
    ct = samples.write_dicom(root / "ACC-1001" / "ct.dcm", rng.integers(0, 4096, (SIZE, SIZE))
                             .astype(np.uint16), modality="CT", view=None, study_uid=first,
                             accession="ACC-1001", study_date="20200115", **p1)
    hospital.ct.append(str(samples.pydicom.dcmread(ct).SeriesInstanceUID))
    study = samples.generate_uid()
    _image(root / "ACC-2001" / "img.dcm", rng, sop_list=hospital.frontal, modality="DX",
           view="PA", study_uid=study, accession="ACC-2001", study_date="20200301",
           patient_id=P2["patient_id"], birth_date=P2["birth_date"],
           extra={"PatientName": P2["patient_name"]})
    hospital.studies["ACC-2001"] = {"study": study, "date": "20200301", "patient": P2}
    ct_only = samples.generate_uid()
    ct = samples.write_dicom(root / "ACC-3001" / "ct.dcm", rng.integers(0, 4096, (SIZE, SIZE))
                             .astype(np.uint16), modality="CT", view=None, study_uid=ct_only,
                             accession="ACC-3001", study_date="20200401",
                             patient_id=P3["patient_id"], birth_date=P3["birth_date"])
    hospital.ct.append(str(samples.pydicom.dcmread(ct).SeriesInstanceUID))
    hospital.studies["ACC-3001"] = {"study": ct_only, "date": "20200401", "patient": P3}
    return hospital


def start_orthanc(folder: Path, store_port: int) -> orthanc_sandbox.Orthanc:
    if orthanc_sandbox.find_orthanc() is None:
        pytest.skip("Orthanc is not installed (make test installs the Debian packages orthanc "
                    "and orthanc-dicomweb as root)")
    if orthanc_sandbox.find_dicomweb_plugin() is None:
        pytest.skip("the Orthanc DICOMweb plugin is not installed (Debian: orthanc-dicomweb)")
    return orthanc_sandbox.Orthanc(folder, {OUR_AET: store_port}).start()


