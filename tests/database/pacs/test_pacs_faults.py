"""Faults against a real Orthanc: the server stopped mid-retrieve, ``kill -9`` of the
retrieve (over DICOMweb, C-GET and C-MOVE), a study the PACS does not have; each rerun resumes
and fetches what is missing once.

A retrieve of this study takes well under a second, so the tests freeze the retrieve with
SIGSTOP once some files are in place, then kill it or stop the server: the instances still in
the socket buffers (a few MB) cannot make up the 45 MB of the study.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hospital_archive import OUR_AET, free_port, start_orthanc

import chestx.synth.dicoms as samples
from chestx.database.pacs.jobstate import STATE_NAME, JobState

SERIES, PER_SERIES, SIZE = 3, 30, 512
CLI = "import sys; from chestx.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def busy_pacs(tmp_path_factory):
    """An Orthanc with one study of 3 x 30 DX images of 512 x 512, 16-bit (enough to stop a
    retrieve in the middle); ``store_port``: the port of our C-MOVE storage SCP."""
    root = tmp_path_factory.mktemp("busy")
    rng = np.random.default_rng(3)
    study = samples.generate_uid()
    for s in range(SERIES):
        series = samples.generate_uid()
        for i in range(PER_SERIES):
            samples.write_dicom(root / f"{s}_{i}.dcm", rng.integers(0, 4096, (SIZE, SIZE))
                                .astype(np.uint16), patient_id="BUSY", study_uid=study,
                                accession="B1", extra={"SeriesInstanceUID": series,
                                                       "InstanceNumber": i + 1})
    store_port = free_port()
    server = start_orthanc(tmp_path_factory.mktemp("orthanc_busy"), store_port)
    try:
        server.upload([root])
        server.study, server.store_port = study, store_port
        yield server
    finally:
        server.stop()


def studies_csv(tmp_path: Path, *uids: str) -> Path:
    path = tmp_path / "S.csv"
    path.write_text("StudyInstanceUID,PatientID\n" + "".join(f"{u},BUSY\n" for u in uids))
    return path


def transport_args(server, transport: str) -> list[str]:
    if transport == "dicomweb":
        return ["--dicomweb", server.dicomweb_url]
    dimse = ["--dimse", server.dimse, "--aet", OUR_AET]
    if transport == "c-move":
        dimse += ["--move-dest", OUR_AET, "--store-port", str(server.store_port)]
    return dimse


def start_retrieve(server, studies: Path, out: Path, *extra: str,
                   transport: str = "dicomweb") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI, "pacs", "retrieve",
                             *transport_args(server, transport), "--studies", str(studies),
                             "--out", str(out), "--max-concurrent", "1", "-q", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_files(out: Path, count: int, process: subprocess.Popen,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list(out.rglob("[!.]*.dcm"))) >= count:
            os.kill(process.pid, signal.SIGSTOP)  # frozen mid-study, until told to go on
            return
        if process.poll() is not None:
            pytest.fail(f"the retrieve ended before it could be interrupted: {process.stderr}")
        time.sleep(0.005)
    pytest.fail("the retrieve wrote no files")


def landed(out: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("[!.]*.dcm")}


@pytest.mark.parametrize("transport", ["dicomweb", "c-get", "c-move"])
def test_kill_9_then_rerun_fetches_each_missing_instance_once(busy_pacs, tmp_path, transport):
    out = tmp_path / "DL"
    studies = studies_csv(tmp_path, busy_pacs.study)
    process = start_retrieve(busy_pacs, studies, out, transport=transport)
    wait_for_files(out, 10, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = landed(out)
    assert 10 <= len(before) < SERIES * PER_SERIES
    for path in before:  # atomic writes: every file with its final name is whole
        assert pydicom.dcmread(path).pixel_array.shape == (SIZE, SIZE)
    rerun = start_retrieve(busy_pacs, studies, out, transport=transport)
    assert rerun.wait(60) == 0, rerun.stderr.read()
    after = landed(out)
    assert len(after) == SERIES * PER_SERIES
    assert {p: after[p] for p in before} == before  # nothing landed before was fetched again
    assert not [p for p in out.rglob(".*.dcm")]  # no partial file left
    counts = JobState(out / STATE_NAME).fetch_counts()
    by_path = {str(p.relative_to(out)): p for p in after}
    assert len(counts) == len(by_path) == SERIES * PER_SERIES
    # an instance in flight at the kill (fetched, not yet in place) is fetched once more
    assert sum(1 for c in counts.values() if c == 2) <= 1 and max(counts.values()) <= 2


def test_server_stopped_mid_retrieve_is_one_line_and_the_rerun_resumes(busy_pacs, tmp_path):
    out = tmp_path / "DL"
    studies = studies_csv(tmp_path, busy_pacs.study)
    process = start_retrieve(busy_pacs, studies, out, "--retries", "1", "--backoff", "0.05")
    try:
        wait_for_files(out, 10, process)
        busy_pacs.stop()
        os.kill(process.pid, signal.SIGCONT)
        _, stderr = process.communicate(timeout=60)
    finally:
        busy_pacs.start()
    assert process.returncode == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert "rerun the same command to resume" in stderr
    before = landed(out)
    rerun = start_retrieve(busy_pacs, studies, out)
    assert rerun.wait(60) == 0, rerun.stderr.read()
    after = landed(out)
    assert len(after) == SERIES * PER_SERIES and {p: after[p] for p in before} == before
    assert set(JobState(out / STATE_NAME).fetch_counts().values()) == {1}


def test_a_failing_study_is_listed_and_the_others_go_on(busy_pacs, tmp_path, run_cli):
    out = tmp_path / "DL"
    studies = studies_csv(tmp_path, "1.2.3.999", busy_pacs.study)
    code, stdout, stderr = run_cli("pacs", "retrieve", "--dicomweb", busy_pacs.dicomweb_url,
                                   "--studies", studies, "--out", out, "-q", "--backoff", "0")
    assert code == 0, stderr
    assert "1 of 2 studies" in stdout and "1 studies failed" in stderr
    assert "1.2.3.999: study 1.2.3.999: the PACS lists no series in it" in stderr
    assert len(landed(out)) == SERIES * PER_SERIES
    failed = (out / "retrieve_failed.csv").read_text().splitlines()
    assert failed[1].startswith("1.2.3.999,")
