"""The commands that used to be ``python -m`` scripts, and hints the CLI adds to errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chestx.cli.options import remedy_flags
from chestx.database.pacs import sandbox

REPO = Path(__file__).resolve().parents[2]


def test_synth_dicom_writes_the_sample_folder(run_cli, tmp_path):
    code, out, _ = run_cli("synth-dicom", tmp_path / "s", "--patients", "2", "--size", "64",
                           "--sr")
    assert code == 0
    # patient p has 1 + p % 3 studies: 1 + 2 = 3 frontal; a lateral in each first study;
    # truncated, pixel-less and non-DICOM files; one SR per study
    assert out.strip() == (f"{tmp_path / 's'}: 3 frontal, 2 lateral, 3 broken files; "
                           f"reports in {tmp_path / 's' / 'reports.csv'}")
    assert len(list((tmp_path / "s" / "dicom").rglob("SR0001.dcm"))) == 3
    with open(tmp_path / "s" / "reports.csv", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["accession", "ACC00000", "ACC00100",
                                                          "ACC00101"]


def test_the_library_names_values_and_the_cli_its_options():
    assert remedy_flags({"weights": "PATH", "pretrained": False}) == \
        "--weights PATH or --no-pretrained"
    assert remedy_flags({"heatmap_size": None, "amp": True}) == "--heatmap-size or --amp"


def test_heatmap_size_error_gets_its_option(run_cli, tmp_path):
    from chestx.models import build_model, save_checkpoint

    model = build_model("resnet18", 2, image_size=64)
    save_checkpoint(tmp_path / "m.pt", model)
    code, _, err = run_cli("export", "--checkpoint", tmp_path / "m.pt", "--format", "onnx",
                           "--out", tmp_path / "m.onnx")
    assert code == 0 or "error" in err  # export itself is tested in tests/inference
    code, _, err = run_cli("predict", tmp_path / "m.pt", "--checkpoint", tmp_path / "m.pt",
                           "--heatmap-size", "64")
    assert code == 2 and err.startswith("error: heatmap size 64: use one of 8, 16, 32")
    assert err.strip().endswith("(--heatmap-size)") and len(err.strip().splitlines()) == 1


def test_sandbox_peer_must_be_aet_and_port(run_cli, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run_cli("pacs", "sandbox", tmp_path / "o", "--peer", "CHESTX")
    assert code == 2 and err.strip() == "error: peer 'CHESTX': expected AET:PORT"
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.skipif(sandbox.find_orthanc() is None or sandbox.find_dicomweb_plugin() is None,
                    reason="Orthanc with its DICOMweb plugin is not installed")
def test_pacs_sandbox_serves_until_sigterm(tmp_path):
    from chestx.synth.dicoms import make_sample_folder

    make_sample_folder(tmp_path / "src", patients=1, size=32)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen([sys.executable, "-m", "chestx.cli", "pacs", "sandbox",
                               tmp_path / "pacs", tmp_path / "src" / "dicom"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        line = server.stdout.readline()
        url, dimse = line.split()[:2]
        # patient 0's study (frontal + lateral) and the DICOM without pixels (its own study);
        # the truncated file and the text file refused
        assert line.split()[2] == "(3" and dimse.startswith("ORTHANC@127.0.0.1:")
        query = subprocess.run([sys.executable, "-m", "chestx.cli", "pacs", "query",
                                "--dicomweb", url, "-o", tmp_path / "studies.csv"],
                               capture_output=True, text=True, env=env)
        assert query.returncode == 0 and query.stdout.startswith("2 studies from "), query
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
    assert code == 0
    time.sleep(0.5)
    assert not any("Orthanc" in p and str(tmp_path) in p for p in _processes())


def _processes() -> list[str]:
    return [" ".join(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
                     .split("\0")) for pid in os.listdir("/proc") if pid.isdigit()
            and os.path.exists(f"/proc/{pid}/cmdline")]
