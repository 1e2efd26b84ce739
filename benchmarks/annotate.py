"""Cost of one saved box in ``chestx annotate`` as the folder fills up, in the same run.

Each save writes the instance's VOC file and regenerates ``BBox_List_2017.csv`` from every
file of ``annotations/``. The baseline is a save into an empty folder; the ratio shows what
the paper's 1,600 instances (or ``--instances N``) cost on top. It also checks that nothing
was lost: the list holds every box saved.

    python benchmarks/annotate.py                    # 1,600 instances, 20 timed saves each
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from chestx.data.annotations import AnnotationStore
from chestx.data.bbox_csv import read_bbox_list


def median_save(store: AnnotationStore, repeats: int) -> float:
    """Median seconds of ``store.create`` over ``repeats`` new boxes."""
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        store.create(f"{90000000 + i:08d}_000.png", "Mass", (10, 10, 50, 40), (1024, 1024),
                     annotator="bench")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1600, help="boxes already saved")
    parser.add_argument("--repeats", type=int, default=20, help="timed saves per setting")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty = AnnotationStore(Path(folder) / "empty")
        baseline = median_save(empty, args.repeats)
        full = AnnotationStore(Path(folder) / "full")
        for i in range(args.instances):
            full.create(f"{i // 2 + 1:08d}_000.png", ("Nodule", "Effusion")[i % 2],
                        (i % 900, 20, 30, 40), (1024, 1024))
        loaded = median_save(full, args.repeats)
        listed = len(read_bbox_list(full.csv_path))
    expected = args.instances + args.repeats
    print(f"save into an empty folder:         {1000 * baseline:7.1f} ms (median of "
          f"{args.repeats})")
    print(f"save beside {args.instances:5d} instances:      {1000 * loaded:7.1f} ms")
    print(f"ratio: {loaded / baseline:.1f}x the empty-folder save; list holds {listed} of "
          f"{expected} boxes ({'none lost' if listed == expected else 'LOST BOXES'})")


if __name__ == "__main__":
    main()
