#!/usr/bin/env python
"""Benchmark ``chestx pacs retrieve`` against plain clients of the same PACS, in one run.

Writes a study set (default 100 DX images of 2048 x 2048, 16-bit, in 40 studies of 5
patients), stores it in a private Orthanc on loopback (:mod:`chestx.database.pacs.sandbox`), and
times each client retrieving every study into an empty folder:

- ``chestx pacs retrieve`` (the command, as a user runs it) over DICOMweb, C-GET (default and
  ``--max-concurrent 4``) and C-MOVE;
- curl, one WADO-RS request per study (multipart, the stored transfer syntax), one at a time;
- dcmtk ``getscu``, one C-GET for all studies; ``movescu`` + ``storescp``, one C-MOVE for all.

It prints instances/s, MB/s, CPU seconds of the client and of Orthanc, and the ratios that
matter (chestx over its baseline, measured in the same run). Usage::

    .venv/bin/python benchmarks/pacs.py [--small] [--images 100] [--studies 40] [--pixels 2048]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import chestx.synth.dicoms as samples
from chestx.database.pacs import sandbox

OUR_AET, STORESCP_AET = "CHESTX", "STORESCP"
ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
#: The command as its console script runs it (``python -m chestx.cli`` would import the
#: CLI module twice).
CLI = [sys.executable, "-c", "import sys; from chestx.cli import main; sys.exit(main())",
       "pacs", "retrieve"]


def build_studies(root: Path, images: int, studies: int, patients: int,
                  pixels: int) -> list[tuple[str, str]]:
    """Write the DICOM files; returns (StudyInstanceUID, PatientID) per study."""
    rng = np.random.default_rng(0)
    base = samples.chest_phantom(pixels, pixels, rng)
    study_ids = [(samples.generate_uid(), f"P{s % patients:03d}") for s in range(studies)]
    for i in range(images):
        uid, patient = study_ids[i % studies]
        noise = rng.integers(0, 16, base.shape, dtype=np.uint16)
        samples.write_dicom(root / f"im{i:04d}.dcm", np.minimum(base + noise, 4095)
                            .astype(np.uint16), bits_stored=12, window=(2048, 4096),
                            patient_id=patient, study_uid=uid, accession=f"A{i % studies:04d}",
                            study_date=f"2020{1 + i % 12:02d}01")
    return study_ids


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Bench:
    """Runs each method into a fresh folder and records its numbers."""

    def __init__(self, server: sandbox.Orthanc, work: Path, expected: int) -> None:
        """``work``: the folder the methods write into (emptied before each)."""
        self.server, self.work, self.expected = server, work, expected
        self.rows: dict[str, list[dict[str, float]]] = {}

    def run(self, name: str, method, pattern: str = "**/*.dcm") -> None:
        # each method starts with the disk as the last one left it written back: otherwise a
        # method pays for its predecessor's 800 MB of dirty pages
        shutil.rmtree(self.work, ignore_errors=True)
        os.sync()
        out = self.work / name.replace(" ", "_")
        out.mkdir(parents=True)
        server0, client0, start = cpu_of(self.server.process.pid), children_cpu(), \
            time.perf_counter()
        extra_cpu = method(out)
        seconds = time.perf_counter() - start
        client = children_cpu() - client0 + (extra_cpu or 0.0)
        server = cpu_of(self.server.process.pid) - server0
        files = [p for p in out.glob(pattern) if p.is_file() and not p.name.startswith(".")]
        size = sum(p.stat().st_size for p in files)
        count = self.expected if pattern == "multipart" else len(files)
        if pattern == "multipart":
            size = sum(p.stat().st_size for p in out.iterdir())
        if count != self.expected:
            raise SystemExit(f"{name}: {count} instances, expected {self.expected}")
        self.rows.setdefault(name, []).append({"s": seconds, "ips": count / seconds,
                                               "mbs": size / 1e6 / seconds, "client": client,
                                               "server": server})
        print(f"  {name}: {seconds:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--studies", type=int, default=40)
    parser.add_argument("--patients", type=int, default=5)
    parser.add_argument("--pixels", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved rounds; the table gives the medians")
    parser.add_argument("--small", action="store_true",
                        help="a quick run: 20 images of 1024 x 1024 in 8 studies")
    args = parser.parse_args()
    if args.small:
        args.images, args.studies, args.pixels = 20, 8, 1024
    for tool in ("curl", "getscu", "movescu", "storescp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: curl, dcmtk)")
    with tempfile.TemporaryDirectory(prefix="chestx_pacs_bench_") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        studies = build_studies(work / "source", args.images, args.studies, args.patients,
                                args.pixels)
        scp_port, storescp_port = sandbox.free_port(), sandbox.free_port()
        server = sandbox.Orthanc(work / "orthanc", {OUR_AET: scp_port,
                                                   STORESCP_AET: storescp_port})
        with server:
            stored = server.upload([work / "source"])
            print(f"{stored} images of {args.pixels} x {args.pixels} in {len(studies)} studies "
                  f"stored in Orthanc ({time.perf_counter() - t0:.0f} s)", flush=True)
            csv = work / "studies.csv"
            csv.write_text("StudyInstanceUID,PatientID\n" +
                           "".join(f"{uid},{patient}\n" for uid, patient in studies))
            bench = Bench(server, work / "runs", stored)
            for round_ in range(args.rounds):
                print(f"round {round_ + 1} of {args.rounds}, each method into an empty folder:",
                      flush=True)
                run_all(bench, server, [uid for uid, _ in studies], csv, storescp_port,
                        scp_port)
            report(bench.rows, stored, args)


def run_all(bench: Bench, server: sandbox.Orthanc, uids: list[str], csv: Path,
            storescp_port: int, scp_port: int) -> None:
    dimse = ["--dimse", server.dimse, "--aet", OUR_AET]
    uid_list = "\\".join(uids)
    host_port = ["127.0.0.1", str(server.dicom_port)]

    def chestx(*args: str):
        def method(out: Path) -> None:
            subprocess.run([*CLI, *args, "--studies", str(csv), "--out", str(out), "-q"],
                           check=True, capture_output=True)
        return method

    def curl(out: Path) -> None:
        for uid in uids:
            subprocess.run(["curl", "-sf", "-o", str(out / f"{uid}.multipart"), "-H",
                            f"Accept: {ACCEPT}", f"{server.dicomweb_url}/studies/{uid}"],
                           check=True)

    def getscu(out: Path) -> None:
        subprocess.run(["getscu", "-S", "-aet", OUR_AET, "-aec", server.aet, "-od", str(out),
                        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={uid_list}",
                        *host_port], check=True, capture_output=True)

    def movescu(out: Path) -> float:
        scp = subprocess.Popen(["storescp", "-aet", STORESCP_AET, "-od", str(out),
                                str(storescp_port)])
        try:
            time.sleep(0.3)  # listening
            subprocess.run(["movescu", "-S", "-aet", OUR_AET, "-aec", server.aet, "-aem",
                            STORESCP_AET, "-k", "QueryRetrieveLevel=STUDY", "-k",
                            f"StudyInstanceUID={uid_list}", *host_port],
                           check=True, capture_output=True)
            return cpu_of(scp.pid)
        finally:
            scp.terminate()
            scp.wait()

    bench.run("curl WADO-RS per study", curl, pattern="multipart")
    bench.run("chestx DICOMweb", chestx("--dicomweb", server.dicomweb_url))
    bench.run("getscu one C-GET", getscu, pattern="*")
    bench.run("chestx C-GET", chestx(*dimse))
    bench.run("chestx C-GET --max-concurrent 4", chestx(*dimse, "--max-concurrent", "4"))
    bench.run("movescu + storescp", movescu, pattern="*")
    bench.run("chestx C-MOVE", chestx(*dimse, "--move-dest", OUR_AET, "--store-port",
                                      str(scp_port)))


def report(runs: dict[str, list[dict[str, float]]], images: int, args) -> None:
    rows = {name: {k: float(np.median([r[k] for r in rs])) for k in rs[0]}
            for name, rs in runs.items()}
    print(f"\n{images} images of {args.pixels} x {args.pixels}, 16-bit, "
          f"{args.studies} studies of {args.patients} patients; Orthanc on loopback; "
          f"{'median of ' + str(args.rounds) + ' rounds' if args.rounds > 1 else 'one round'}"
          "\n")
    print("| method | s | instances/s | MB/s | client CPU s | Orthanc CPU s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['s']:.2f} | {r['ips']:.1f} | {r['mbs']:.0f} | {r['client']:.2f} "
              f"| {r['server']:.2f} |")
    ratios = [("chestx DICOMweb / curl per study", "chestx DICOMweb",
               "curl WADO-RS per study", 0.8),
              ("chestx C-GET / getscu", "chestx C-GET", "getscu one C-GET", 1.0),
              ("chestx C-MOVE / movescu", "chestx C-MOVE", "movescu + storescp", 1.0),
              ("chestx C-GET --max-concurrent 4 / default", "chestx C-GET --max-concurrent 4",
               "chestx C-GET", 1.0)]
    print("\n| ratio (instances/s) | measured | target |")
    print("|---|---|---|")
    for label, ours, theirs, target in ratios:
        ratio = rows[ours]["ips"] / rows[theirs]["ips"]
        print(f"| {label} | {ratio:.2f} | >= {target} |")


if __name__ == "__main__":
    main()
