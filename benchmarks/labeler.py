"""Report labeler benchmark: speed and F1 against a NegEx-style baseline, same run.

Measures, on the OpenI development reports (``../shared/data/openi/openi_dev.csv``):

* ``chestx label`` end to end in a fresh process (Python start, spaCy model load, read,
  label, write), single process and ``--workers N``: reports per second;
* the baseline — the same vocabulary with a NegEx-style word window, no parser (the
  MetaMap+NegEx stand-in of the paper's Table 2) — also in a fresh process;
* micro F1 of both (paper Table 2: 8 findings + Normal; Table 18: 14 findings), and of
  ``chestx label --coding openi`` (reports coded as OpenI's annotators code them, the coding
  of this gold: differentials present, support devices abnormal, any thickening pleural);
* peak memory for the reports and for the same reports repeated 4x (flat = streaming).

Usage: ``python benchmarks/labeler.py [--data CSV] [--workers 2] [--no-memory]``
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "data" / "openi" / "openi_dev.csv"

BASELINE = """
import sys
from chestx.reports.batch import iter_reports, output_row, OUTPUT_COLUMNS
from chestx.reports.negex import NegexLabeler
import csv
reports = list(iter_reports(sys.argv[1]))
with open(sys.argv[2], "w", newline="") as out:
    w = csv.writer(out); w.writerow(OUTPUT_COLUMNS)
    for r, res in zip(reports, NegexLabeler().label_reports(r.text for r in reports)):
        w.writerow(output_row(r.report_id, res))
"""


CPU: dict[str, float] = {}


def run(cmd: list[str], name: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a fresh child process; CPU seconds into CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[name] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # ru_maxrss of children is the max over all children so far: run the big ones last
    return wall, after.ru_maxrss / 1024


def f1s(gold: Path, pred: Path) -> tuple[float, float]:
    from chestx.reports.scoring import evaluate_files

    result = evaluate_files(gold, pred)
    return result["table2_micro"]["f1"], result["table18_micro"]["f1"]


def count_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def repeated(src: Path, times: int, dst: Path) -> None:
    with open(src, newline="", encoding="utf-8") as fin, open(dst, "w", newline="") as fout:
        rows = list(csv.DictReader(fin))
        writer = csv.writer(fout)
        writer.writerow(["report_id", "text"])
        for k in range(times):
            for row in rows:
                writer.writerow([f"{row['report_id']}_{k}", row["text"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the 4x memory run")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data}: not found (the OpenI reports live in ../shared)")
    n = count_rows(args.data)

    def label(src: Path, out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "chestx.cli", "label", str(src), "-q", "-o", str(out),
                *extra]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_wall, _ = run([sys.executable, "-c", BASELINE, str(args.data),
                            str(tmp / "negex.csv")], "negex")
        one_wall, one_mem = run(label(args.data, tmp / "one.csv"), "one")
        many_wall, _ = run(label(args.data, tmp / "many.csv", "--workers", str(args.workers)),
                           "many")
        openi_wall, _ = run(label(args.data, tmp / "openi.csv", "--coding", "openi"), "openi")
        ours, negex = f1s(args.data, tmp / "one.csv"), f1s(args.data, tmp / "negex.csv")
        openi = f1s(args.data, tmp / "openi.csv")
        print(f"{n} reports from {args.data.name}; wall clock incl. Python start and "
              "model loading")
        print(f"{'labeler':<34} {'reports/s':>10} {'per CPU-s':>10} {'F1 8+Normal':>12} "
              f"{'F1 14':>7}")
        print(f"{'NegEx-style window (baseline)':<34} {n / base_wall:>10.0f} "
              f"{n / CPU['negex']:>10.0f} {negex[0]:>12.3f} {negex[1]:>7.3f}")
        print(f"{'chestx label (dependency rules)':<34} {n / one_wall:>10.0f} "
              f"{n / CPU['one']:>10.0f} {ours[0]:>12.3f} {ours[1]:>7.3f}")
        print(f"{'chestx label --coding openi':<34} {n / openi_wall:>10.0f} "
              f"{n / CPU['openi']:>10.0f} {openi[0]:>12.3f} {openi[1]:>7.3f}")
        print(f"{f'chestx label --workers {args.workers}':<34} {n / many_wall:>10.0f} "
              f"{n / CPU['many']:>10.0f}")
        print("(per CPU-s: reports per second of CPU time, what a single process gets on an "
              "idle machine; wall-clock numbers drop when other jobs share the cores)")
        print(f"F1 gain over baseline: {ours[0] - negex[0]:+.3f} (8+Normal), "
              f"{ours[1] - negex[1]:+.3f} (14); speed vs paper's ~4 reports/s: "
              f"{n / one_wall / 4:.0f}x")
        if not args.no_memory:
            repeated(args.data, 4, tmp / "x4.csv")
            x4_wall, x4_mem = run(label(tmp / "x4.csv", tmp / "x4o.csv"), "x4")
            print(f"peak memory: {one_mem:.0f} MiB for {n} reports, {x4_mem:.0f} MiB for "
                  f"{4 * n} ({4 * n / x4_wall:.0f} reports/s)")


if __name__ == "__main__":
    main()
