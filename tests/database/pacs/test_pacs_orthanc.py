"""query -> retrieve -> ingest against a real Orthanc, over DICOMweb and DIMSE."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import urllib.request
from pathlib import Path

import pydicom
import pytest
from hospital_archive import OUR_AET, P1, P2, P3

from chestx.database.pacs.jobstate import STATE_NAME, JobState


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fetched_files(out: Path) -> dict[str, Path]:
    """SOPInstanceUID -> file, for every .dcm under ``out``."""
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p
            for p in out.rglob("*.dcm")}


def check_retrieved(out: Path, hospital, state_dir: Path | None = None) -> None:
    files = fetched_files(out)
    assert set(files) == set(hospital.frontal) | set(hospital.reports)
    for sop, path in files.items():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert path.relative_to(out).parts == (ds.PatientID, ds.StudyInstanceUID,
                                               ds.SeriesInstanceUID, f"{sop}.dcm")
    skipped = rows((state_dir or out) / "retrieve_skipped.csv")
    reasons = {r["uid"]: r["reason"] for r in skipped}
    assert set(reasons) == {*hospital.lateral, hospital.ct[0]}  # CT-only study: not queried
    assert reasons[hospital.lateral[0]] == "not a frontal view (ViewPosition='LL')"
    assert reasons[hospital.ct[0]].startswith("modality CT: not a chest radiograph")
    counts = JobState((state_dir or out) / STATE_NAME).fetch_counts()
    assert sorted(set(counts.values())) == [1]


def stored_file(pacs, sop: str) -> bytes:
    """The file Orthanc stores for ``sop``, as it is on its disk."""
    [found] = pacs.rest("/tools/lookup", data=sop.encode(), method="POST")
    with urllib.request.urlopen(f"{pacs.url}/instances/{found['ID']}/file", timeout=30) as r:
        return r.read()


def dataset_bytes(part10: bytes) -> bytes:
    """The data set of a Part 10 stream: what follows the preamble and file meta group (its
    length is the value of (0002,0000), explicit VR little endian at bytes 140-143)."""
    assert part10[128:132] == b"DICM"
    return part10[144 + int.from_bytes(part10[140:144], "little"):]


def query_and_retrieve(run_cli, tmp_path, transport: list[str], *extra: str) -> Path:
    studies, out = tmp_path / "S.csv", tmp_path / "DL"
    code, stdout, stderr = run_cli("pacs", "query", *transport, "-o", studies)
    assert code == 0, stderr
    code, stdout, stderr = run_cli("pacs", "retrieve", *transport, "--studies", studies,
                                   "--out", out, "-q", *extra)
    assert code == 0, stderr
    assert "4 of 4 studies" in stdout
    return out


def test_query_lists_chest_radiograph_studies_with_what_was_asked(pacs, hospital, tmp_path,
                                                                  run_cli):
    out = tmp_path / "S.csv"
    code, stdout, stderr = run_cli("pacs", "query", "--dicomweb", pacs.dicomweb_url, "-o", out)
    assert code == 0, stderr
    got = rows(out)
    assert list(got[0]) == ["StudyInstanceUID", "AccessionNumber", "PatientID", "StudyDate",
                            "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "Query"]
    by_accession = {r["AccessionNumber"]: r for r in got}
    assert set(by_accession) == {"ACC-1001", "ACC-1002", "ACC-1003", "ACC-2001"}  # no CT-only
    first = by_accession["ACC-1001"]
    assert first["StudyInstanceUID"] == hospital.studies["ACC-1001"]["study"]
    assert set(first["ModalitiesInStudy"].split(",")) == {"CR", "CT", "SR"}
    assert first["NumberOfStudyRelatedInstances"] == "4"  # image, lateral, CT, SR
    assert first["Query"] == "ModalitiesInStudy=CR"
    assert by_accession["ACC-2001"]["PatientID"] == P2["patient_id"]
    # date range, patient and a cohort list; the same answers over C-FIND
    code, _, stderr = run_cli("pacs", "query", "--dimse", pacs.dimse, "--aet", OUR_AET,
                              "--since", "2020-06-01", "--until", "2021-12-31",
                              "--patient", P1["patient_id"], "-o", out)
    assert code == 0, stderr
    assert sorted(r["AccessionNumber"] for r in rows(out)) == ["ACC-1002", "ACC-1003"]
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("accessionnumber,note\nACC-2001,x\nACC-3001,CT only\nNOPE,gone\n")
    code, stdout, _ = run_cli("pacs", "query", "--dimse", pacs.dimse, "--from-csv", cohort,
                              "-o", out)
    assert [r["AccessionNumber"] for r in rows(out)] == ["ACC-2001"]
    assert rows(out)[0]["Query"] == "AccessionNumber=ACC-2001;ModalitiesInStudy=DX"
    assert "(3 queries)" in stdout


def test_query_agrees_with_dcmtk_findscu(pacs, hospital, tmp_path, run_cli):
    if subprocess.run(["which", "findscu"], capture_output=True).returncode:
        pytest.skip("dcmtk (findscu) is not installed")
    out = tmp_path / "S.csv"
    code, _, stderr = run_cli("pacs", "query", "--dimse", pacs.dimse, "-o", out)
    assert code == 0, stderr
    found = subprocess.run(
        ["findscu", "-S", "-aet", OUR_AET, "-aec", pacs.aet, "-k", "QueryRetrieveLevel=STUDY",
         "-k", "ModalitiesInStudy=DX", "-k", "StudyInstanceUID", "127.0.0.1",
         str(pacs.dicom_port)], capture_output=True, text=True, timeout=30)
    found2 = subprocess.run(
        ["findscu", "-S", "-aet", OUR_AET, "-aec", pacs.aet, "-k", "QueryRetrieveLevel=STUDY",
         "-k", "ModalitiesInStudy=CR", "-k", "StudyInstanceUID", "127.0.0.1",
         str(pacs.dicom_port)], capture_output=True, text=True, timeout=30)
    text = found.stdout + found.stderr + found2.stdout + found2.stderr
    dcmtk_uids = {line.split("[")[1].split("]")[0].strip("\x00 ")
                  for line in text.splitlines() if "(0020,000d)" in line and "[" in line}
    assert dcmtk_uids == {r["StudyInstanceUID"] for r in rows(out)}


@pytest.mark.parametrize("transport", ["dicomweb", "c-get", "c-move"])
def test_query_retrieve_ingest_end_to_end(pacs, hospital, tmp_path, run_cli, transport):
    args = {"dicomweb": ["--dicomweb", pacs.dicomweb_url],
            "c-get": ["--dimse", pacs.dimse, "--aet", OUR_AET],
            "c-move": ["--dimse", pacs.dimse, "--aet", OUR_AET]}[transport]
    extra = ["--move-dest", OUR_AET, "--store-port", str(pacs.store_port)] \
        if transport == "c-move" else []
    out = query_and_retrieve(run_cli, tmp_path, args, *extra)
    check_retrieved(out, hospital)
    for sop, path in fetched_files(out).items():
        ours, stored = path.read_bytes(), stored_file(pacs, sop)
        if transport == "dicomweb":  # WADO-RS sends the stored file: kept byte for byte
            assert ours == stored, path
        else:  # DIMSE sends the data set (file meta is the receiver's): kept byte for byte
            assert dataset_bytes(ours) == dataset_bytes(stored), path
    # a rerun fetches nothing again
    code, stdout, _ = run_cli("pacs", "retrieve", *args, "--studies", tmp_path / "S.csv",
                              "--out", out, "-q", *extra)
    assert code == 0 and "0 instances fetched now" in stdout
    data = tmp_path / "DATA"
    code, stdout, stderr = run_cli("ingest", out, "--out", data, "--size", 32, "-q")
    assert code == 0, stderr
    entries = {r["Image Index"]: r for r in rows(data / "Data_Entry_2017.csv")}
    ids = {r["Image Index"]: r for r in rows(data / "id_map.csv")}
    assert len(entries) == 4
    by_accession = {ids[i]["AccessionNumber"]: entries[i] for i in entries}
    # follow-ups of patient 1 in study-date order; patient 2 after (first study 2020-03-01)
    assert [by_accession[a]["Image Index"] for a in ("ACC-1001", "ACC-1002", "ACC-1003")] == \
        ["00000001_000.png", "00000001_001.png", "00000001_002.png"]
    assert by_accession["ACC-2001"]["Image Index"] == "00000002_000.png"
    assert by_accession["ACC-1002"]["View Position"] == "AP"
    if transport == "dicomweb":  # the real labeler, once: labels from the SR text
        assert by_accession["ACC-1001"]["Finding Labels"] == "Cardiomegaly"
        assert by_accession["ACC-1002"]["Finding Labels"] == "Effusion"
        assert by_accession["ACC-1003"]["Finding Labels"] == "No Finding"
        assert by_accession["ACC-2001"]["Finding Labels"] == ""  # a study without report
        assert [r["AccessionNumber"] for r in rows(data / "ingest_unlabeled.csv")] == \
            ["ACC-2001"]


def test_cget_files_match_dcmtk_getscu(pacs, hospital, tmp_path, run_cli):
    if subprocess.run(["which", "getscu"], capture_output=True).returncode:
        pytest.skip("dcmtk (getscu) is not installed")
    out = query_and_retrieve(run_cli, tmp_path, ["--dimse", pacs.dimse])
    sop = hospital.frontal[0]
    study = hospital.studies["ACC-1001"]["study"]
    dcmtk = tmp_path / "dcmtk"
    dcmtk.mkdir()
    subprocess.run(["getscu", "-S", "-aet", OUR_AET, "-aec", pacs.aet, "-od", str(dcmtk),
                    "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={study}",
                    "-k", f"SOPInstanceUID={sop}", "127.0.0.1", str(pacs.dicom_port)],
                   check=True, capture_output=True, timeout=30)
    [theirs] = list(dcmtk.iterdir())
    ours = fetched_files(out)[sop]
    a, b = pydicom.dcmread(ours), pydicom.dcmread(theirs)
    assert a.PixelData == b.PixelData and a.PatientID == b.PatientID == P1["patient_id"]


def test_deidentified_retrieve_and_ingest_leave_no_identifier_anywhere(pacs, hospital,
                                                                       tmp_path, run_cli):
    out = query_and_retrieve(run_cli, tmp_path, ["--dicomweb", pacs.dicomweb_url],
                             "--deidentify")
    private = tmp_path / "DL-private"
    assert (private / "deid_key.sqlite").is_file() and not list(out.rglob("*.sqlite"))
    data = tmp_path / "DATA"
    code, _, stderr = run_cli("ingest", out, "--out", data, "--size", 32, "-q")
    assert code == 0, stderr
    secrets = [P1["patient_id"], P2["patient_id"], P3["patient_id"], *hospital.studies,
               P1["birth_date"], P2["birth_date"], "DOE", "JANE", "Jane", "ROE", "RICHARD"]
    for path in [*out.rglob("*"), *data.rglob("*")]:
        if path.is_file():
            blob = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in blob, (secret, path)
    # studies still grouped: one pseudonymous patient with three studies in date order
    patients = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(patients) == 2
    entries = rows(data / "Data_Entry_2017.csv")
    # each patient's dates move by its own offset, so which patient comes first may change;
    # within a patient the follow-ups keep their order
    by_patient: dict[str, list[dict]] = {}
    for entry in entries:
        by_patient.setdefault(entry["Patient ID"], []).append(entry)
    [followups] = [e for e in by_patient.values() if len(e) == 3]
    assert sorted(len(e) for e in by_patient.values()) == [1, 3]
    assert [e["Finding Labels"] for e in followups] == ["Cardiomegaly", "Effusion",
                                                        "No Finding"]  # SR text still labels
    sr = [pydicom.dcmread(p) for p in out.rglob("*.dcm") if pydicom.dcmread(p).Modality == "SR"]
    texts = [str(item.TextValue) for ds in sr for c in ds.ContentSequence
             for item in c.ContentSequence]
    assert any("[name]" in t for t in texts)
    # dates move by one offset per patient: the intervals between studies are kept
    dates: dict[str, list[dt.date]] = {}
    for path in out.rglob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if ds.Modality != "SR":
            dates.setdefault(str(ds.PatientID), []).append(
                dt.datetime.strptime(ds.StudyDate, "%Y%m%d").date())
    [three] = [sorted(d) for d in dates.values() if len(d) == 3]
    # by hand: 2020-01-15 -> 2020-06-20 -> 2021-03-02
    assert [(b - a).days for a, b in zip(three, three[1:], strict=False)] == [157, 255]
    assert three[0] != dt.date(2020, 1, 15)


def test_refused_association_is_a_one_line_error(pacs, tmp_path, run_cli):
    studies = tmp_path / "S.csv"
    studies.write_text("StudyInstanceUID\n1.2.3\n")
    wrong_called = f"WRONG@127.0.0.1:{pacs.dicom_port}"
    code, _, stderr = run_cli("pacs", "query", "--dimse", wrong_called, "-o", studies)
    assert code == 2 and stderr.count("\n") == 1 and "association rejected" in stderr
    code, _, stderr = run_cli("pacs", "retrieve", "--dimse", pacs.dimse, "--aet", "STRANGER",
                              "--studies", studies, "--out", tmp_path / "DL", "-q")
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "association rejected" in stderr and "'STRANGER'" in stderr
