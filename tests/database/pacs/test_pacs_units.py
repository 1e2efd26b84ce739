"""The pacs package's parts without a PACS: endpoints, window, retries, selection, scrubbing."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

import chestx.synth.dicoms as samples
from chestx.database.pacs.deidentify import Pseudonymizer, default_key_path
from chestx.database.pacs.endpoints import DimseEndpoint
from chestx.database.pacs.jobstate import STATE_NAME, JobState
from chestx.database.pacs.query import StudyQuery, find_studies, read_cohort
from chestx.database.pacs.retrieve import Retriever, RetrieveSettings
from chestx.database.pacs.selection import instance_decision, series_decision
from chestx.database.pacs.transports import Received, TransportError
from chestx.database.pacs.window import TimeWindow, wait_for_window
from chestx.errors import ChestxError


def test_dimse_endpoint_parsing():
    assert DimseEndpoint.parse("PACS@10.0.0.5:104") == DimseEndpoint("PACS", "10.0.0.5", 104)
    for bad in ("PACS@host", "host:104", "PACS@host:0", "A" * 17 + "@h:1"):
        with pytest.raises(ChestxError):
            DimseEndpoint.parse(bad)


def test_window_spans_midnight_and_says_when_it_sleeps():
    window = TimeWindow.parse("19:00-07:00")
    at = lambda h, m=0: dt.datetime(2024, 5, 1, h, m)  # noqa: E731
    assert window.contains(at(23)) and window.contains(at(3)) and window.contains(at(19))
    assert not window.contains(at(7)) and not window.contains(at(12))
    assert window.seconds_until_open(at(12, 30)) == 6.5 * 3600
    assert window.seconds_until_open(at(2)) == 0
    day = TimeWindow.parse("08:00-17:30")
    assert day.seconds_until_open(at(18)) == 14 * 3600  # tomorrow 08:00
    said, slept = [], []
    wait_for_window(window, said.append, slept.append, clock=lambda: at(12))
    assert slept == [7 * 3600] and "sleeping until 2024-05-01 19:00 (7.0 h)" in said[0]
    wait_for_window(window, said.append, slept.append, clock=lambda: at(20))
    assert len(slept) == 1
    for bad in ("19-07", "25:00-07:00", "07:00-07:00"):
        with pytest.raises(ChestxError):
            TimeWindow.parse(bad)


@pytest.mark.parametrize("series, reason", [
    ({"Modality": "CR", "ViewPosition": "PA"}, ""),
    ({"Modality": "DX", "SeriesDescription": "CHEST LAT"}, "not a frontal view"),
    ({"Modality": "CT", "BodyPartExamined": "CHEST"}, "modality CT"),
    ({"Modality": "DX", "BodyPartExamined": "KNEE", "ViewPosition": "AP"}, "body part"),
    ({"Modality": "SR"}, ""),
    ({"Modality": "DX"}, ""),  # undecided: fetched, ingest decides
])
def test_series_selection_uses_ingest_view_rules(series, reason):
    got = series_decision(series, ("CR", "DX"))
    assert got.startswith(reason) if reason else got == ""


def test_instance_view_overrides_an_undecided_series():
    series = {"Modality": "DX", "SeriesDescription": "CHEST"}
    assert instance_decision({"ViewPosition": "LL"}, series).startswith("not a frontal")
    assert instance_decision({"ViewPosition": "AP"}, series) == ""


def test_cohort_csv_and_merging_by_study(tmp_path):
    cohort = tmp_path / "c.csv"
    cohort.write_text("PatientID,StudyDate,other\nA,20200101-20201231,x\nB,,y\n,,\n")
    queries = read_cohort(cohort, ("CR", "DX"))
    assert [q.keys for q in queries] == [{"PatientID": "A", "StudyDate": "20200101-20201231"},
                                         {"PatientID": "B"}]

    class Fake:
        def __init__(self):
            self.asked = []

        def find(self, level, query, fields):
            self.asked.append(dict(query))
            if query.get("PatientID") == "A":
                return [{"StudyInstanceUID": "1.1", "PatientID": "A", "StudyDate": "20200505",
                         "ModalitiesInStudy": "CR,DX"}]
            return []

    fake = Fake()
    [row] = find_studies(fake, queries)
    assert len(fake.asked) == 4  # 2 queries x 2 modalities
    assert row["Query"] == ("PatientID=A;StudyDate=20200101-20201231;ModalitiesInStudy=CR | "
                            "PatientID=A;StudyDate=20200101-20201231;ModalitiesInStudy=DX")
    with pytest.raises(ChestxError, match="--since 2021-01-01 is after --until"):
        StudyQuery.from_options(since="2021-01-01", until="2020-01-01")


class FlakyTransport:
    """A PACS double: fails ``failures[study]`` times with ``error`` before answering."""

    def __init__(self, failures, error, log, dataset):
        self.failures, self.error, self.log, self.dataset = failures, error, log, dataset

    def find(self, level, query, fields):
        study = query["StudyInstanceUID"]
        if isinstance(study, list):
            return []  # a PACS without UID lists: each study is asked for alone
        self.log.append((level, study))
        if self.failures.get(study, 0) > 0:
            self.failures[study] -= 1
            raise self.error
        if level == "SERIES":
            return [{"SeriesInstanceUID": study + ".1", "Modality": "DX", "ViewPosition": "PA",
                     "PatientID": "P"}]
        return [{"SOPInstanceUID": study + ".1.1", "SOPClassUID": "1.2.840.10008.5.1.4.1.1.1.1"}]

    def fetch(self, request):
        for sop in sorted(request.expected):
            ds = self.dataset.copy()
            ds.StudyInstanceUID, ds.SeriesInstanceUID = request.studies[0], sop[:-2]
            ds.SOPInstanceUID = sop
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            yield Received(sop, buffer.getvalue())

    def close(self):
        pass


@pytest.fixture
def image_dataset(tmp_path):
    path = samples.write_dicom(tmp_path / "x.dcm", np.zeros((8, 8), np.uint8), patient_id="P")
    return pydicom.dcmread(path)


def test_retries_back_off_then_a_failing_study_is_listed_and_the_rest_go_on(tmp_path,
                                                                           image_dataset):
    log, slept = [], []
    error = TransportError("http://pacs: HTTP 503 Service Unavailable", retryable=True)
    transport = FlakyTransport({"1.1": 2, "1.2": 99}, error, log, image_dataset)
    settings = RetrieveSettings(max_concurrent=1, retries=3, backoff=0.5, progress=False)
    out = tmp_path / "DL"
    summary = Retriever(lambda: transport, out, settings, sleep=slept.append).run(
        [{"StudyInstanceUID": "1.1", "PatientID": "P"},
         {"StudyInstanceUID": "1.2", "PatientID": "P"},
         {"StudyInstanceUID": "1.3", "PatientID": "P"}])
    assert slept == [0.5, 1.0] + [0.5, 1.0, 2.0]  # 1.1 twice, 1.2 until given up
    assert summary.failed == [("1.2", "http://pacs: HTTP 503 Service Unavailable")]
    assert summary.studies_done == 2 and summary.fetched == 2
    assert (out / "P" / "1.1" / "1.1.1" / "1.1.1.1.dcm").is_file()
    assert "1.2,http://pacs: HTTP 503" in (out / "retrieve_failed.csv").read_text()
    # a rerun tries the failed study again, and only it
    log.clear()
    transport.failures = {}
    summary = Retriever(lambda: transport, out, settings, sleep=slept.append).run(
        [{"StudyInstanceUID": s, "PatientID": "P"} for s in ("1.1", "1.2", "1.3")])
    assert {study for _, study in log} == {"1.2"} and summary.failed == []
    assert set(JobState(out / STATE_NAME).fetch_counts().values()) == {1}


def test_unreachable_pacs_stops_the_job_with_one_line(tmp_path, image_dataset):
    error = TransportError("http://pacs: cannot reach the DICOMweb server", unreachable=True)
    transport = FlakyTransport({"1.1": 99}, error, [], image_dataset)
    settings = RetrieveSettings(max_concurrent=1, retries=2, backoff=0.1, progress=False)
    with pytest.raises(ChestxError, match="cannot reach .*rerun the same command to resume"):
        Retriever(lambda: transport, tmp_path / "DL", settings, sleep=lambda s: None).run(
            [{"StudyInstanceUID": "1.1"}, {"StudyInstanceUID": "1.2"}])
    assert JobState(tmp_path / "DL" / STATE_NAME).study_status("1.2") == "pending"


def test_sr_text_is_scrubbed_and_pseudonyms_are_consistent(tmp_path):
    key = default_key_path(tmp_path / "DL")
    assert key.parent == tmp_path / "DL-private"
    path = samples.write_sr(tmp_path / "sr.dcm", {"Findings": "Jane Doe (MRN7731, acc A-77, "
                                                  "born 1960-04-12) has an effusion."},
                            patient_id="MRN7731", patient_name="DOE^JANE", accession="A-77",
                            birth_date="19600412", study_uid="1.2.3", study_date="20200101")
    first, second = pydicom.dcmread(path), pydicom.dcmread(path)
    pseudonymizer = Pseudonymizer(key, protect=tmp_path / "DL")
    pseudonymizer.deidentify(first)
    text = first.ContentSequence[0].ContentSequence[0].TextValue
    assert text == (f"[name] [name] ({first.PatientID}, acc {first.AccessionNumber}, "
                    "born [birth date]) has an effusion.")
    assert first.PatientID != "MRN7731" and "PatientBirthDate" not in first or \
        first.PatientBirthDate != "19600412"
    # the same patient, a new Pseudonymizer on the same key: the same pseudonyms
    pseudonymizer.close()
    again = Pseudonymizer(key)
    again.deidentify(second)
    assert (second.PatientID, second.StudyInstanceUID, second.AccessionNumber) == \
        (first.PatientID, first.StudyInstanceUID, first.AccessionNumber)
    assert again.pseudonymous_ids("MRN7731", "1.2.3", "1.2.3.4", "1.2.3.4.5")[:2] == \
        (first.PatientID, first.StudyInstanceUID)
    with pytest.raises(ChestxError, match="must not be inside the output folder"):
        Pseudonymizer(tmp_path / "DL" / "key.sqlite", protect=tmp_path / "DL")


def test_burned_in_annotation_is_flagged(tmp_path):
    ds = Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.PatientID, ds.BurnedInAnnotation = "X", "YES"
    assert Pseudonymizer(tmp_path / "k.sqlite").deidentify(ds)
    ds2 = Dataset()
    ds2.file_meta = pydicom.dataset.FileMetaDataset()
    ds2.PatientID = "X"
    assert not Pseudonymizer(tmp_path / "k.sqlite").deidentify(ds2)
    assert Pseudonymizer(tmp_path / "k.sqlite", burned_in="unless-no").deidentify(ds2)


def test_unreachable_pacs_is_one_line_over_both_transports(tmp_path, run_cli):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for transport in (["--dicomweb", f"http://127.0.0.1:{port}/dicom-web"],
                      ["--dimse", f"PACS@127.0.0.1:{port}"]):
        code, _, stderr = run_cli("pacs", "query", *transport, "-o", tmp_path / "S.csv")
        assert code == 2 and stderr.count("\n") == 1 and "cannot reach" in stderr, stderr
    code, _, stderr = run_cli("pacs", "query", "-o", tmp_path / "S.csv")
    assert code == 2 and "exactly one of --dicomweb" in stderr
