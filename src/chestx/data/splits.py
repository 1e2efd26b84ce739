"""Patient-wise train/val/test splits.

Two modes, both patient-wise (all images of a patient land in one part):

- ``"official"``: test is NIH's ``test_list.txt`` exactly (file order); the images of
  ``train_val_list.txt`` are split patient-wise into train and val with val = 1/8 of
  train_val, so that overall the parts are about 70/10/20 as in the paper.
- ``"random"``: all images of the CSV, split in the given ratios of *images*.

Patients are assigned greedily: in a seeded random order with the largest patients first,
each goes to the part that is least filled relative to its target (after adding it). The
small patients at the end even out the counts, so the image ratios land within a few images
of the targets while the assignment of patients stays random.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.atomic import atomic_write_text
from chestx.data.nih import TEST_LIST, TRAIN_VAL_LIST, read_split_list
from chestx.data.releases import DataOptions, Release, open_dataset
from chestx.errors import ChestxError

PARTS = ("train", "val", "test")
#: Share held out for testing (whole patients, so about that share of images too) by every
#: split chestx writes: random splits, synthetic and ingested datasets.
TEST_SHARE = 0.2
DEFAULT_RATIOS = (0.7, 0.1, TEST_SHARE)
#: Share of train_val that goes to val in official mode (0.1 / 0.8 of the paper's 70/10/20).
OFFICIAL_VAL_SHARE = 1 / 8
SPLIT_DIR = "split"


def assign_patients(image_counts: pd.Series, ratios: Sequence[float], seed: int = 0
                    ) -> dict[int, int]:
    """Assign patients to parts so that the parts' image counts follow ``ratios``.

    Args:
        image_counts: number of images per patient, indexed by patient id.
        ratios: target share of images per part (normalized to sum 1; zeros allowed).
        seed: seeds the patient order and the tie breaks.

    Returns ``{patient id: part index}``.
    """
    targets = np.asarray(ratios, dtype=np.float64)
    if targets.ndim != 1 or (targets < 0).any() or targets.sum() <= 0:
        raise ChestxError(f"bad split ratios {tuple(ratios)}: need non-negative shares")
    targets = targets / targets.sum()
    rng = np.random.default_rng(seed)
    patients = image_counts.index.to_numpy()
    counts = image_counts.to_numpy(dtype=np.int64)
    order = rng.permutation(len(patients))
    order = order[np.argsort(-counts[order], kind="stable")]
    filled = np.zeros(len(targets))
    usable = targets > 0
    assignment: dict[int, int] = {}
    for index in order:
        fill = np.full(len(targets), np.inf)
        fill[usable] = (filled[usable] + counts[index]) / targets[usable]
        fill += rng.uniform(0, 1e-9, size=len(fill))  # random tie break
        part = int(np.argmin(fill))
        filled[part] += counts[index]
        assignment[patients[index]] = part
    return assignment


def _random_split(entries: pd.DataFrame, ratios: Sequence[float], seed: int
                  ) -> dict[str, list[str]]:
    counts = entries.groupby("Patient ID", sort=True).size()
    assignment = assign_patients(counts, ratios, seed)
    parts = entries["Patient ID"].map(assignment).to_numpy()
    names = entries["Image Index"].to_numpy()
    return {name: names[parts == i].tolist() for i, name in enumerate(PARTS)}


def make_split(entries: pd.DataFrame, mode: str = "official", seed: int = 0,
               ratios: Sequence[float] = DEFAULT_RATIOS, root: str | os.PathLike | None = None
               ) -> dict[str, list[str]]:
    """Split the images of ``entries`` (a :func:`~chestx.data.nih.read_data_entry` frame)
    patient-wise into ``{"train": [...], "val": [...], "test": [...]}`` of Image Index values.

    ``mode="random"`` uses ``ratios`` (train, val, test shares of images) over all rows.
    ``mode="official"`` needs ``root`` (the folder with ``test_list.txt`` and
    ``train_val_list.txt``): test is the list exactly; train_val is split 7:1 into train/val
    (``ratios`` is not used). Lists naming images that are not in ``entries`` raise
    :class:`ChestxError`. Within train/val the CSV order is kept.
    """
    if len(ratios) != 3:
        raise ChestxError(f"split ratios must be three shares (train,val,test), got {ratios}")
    if mode == "random":
        return _random_split(entries, ratios, seed)
    if mode != "official":
        raise ChestxError(f"unknown split mode {mode!r} (use official or random)")
    if root is None:
        raise ChestxError("the official split needs the dataset folder with its split lists")
    root = Path(root)
    known = set(entries["Image Index"])
    lists = {}
    for key, name in (("test", TEST_LIST), ("train_val", TRAIN_VAL_LIST)):
        ids = read_split_list(root / name)
        missing = [i for i in ids if i not in known]
        if missing:
            raise ChestxError(f"{root / name}: {len(missing)} images are not in the "
                              f"Data_Entry CSV (e.g. {missing[0]})")
        lists[key] = ids
    overlap = set(lists["test"]) & set(lists["train_val"])
    if overlap:
        raise ChestxError(f"{root / TEST_LIST}: {len(overlap)} images are also in "
                          f"{TRAIN_VAL_LIST} (e.g. {sorted(overlap)[0]})")
    train_val = entries[entries["Image Index"].isin(set(lists["train_val"]))]
    parts = _random_split(train_val, (1 - OFFICIAL_VAL_SHARE, OFFICIAL_VAL_SHARE, 0.0), seed)
    return {"train": parts["train"], "val": parts["val"], "test": list(lists["test"])}


def release_split(release: Release, mode: str = "official", seed: int = 0,
                  ratios: Sequence[float] = DEFAULT_RATIOS) -> dict[str, list[str]]:
    """Split a release (:func:`chestx.data.releases.open_dataset`) patient-wise.

    NIH: :func:`make_split`. Another release, ``mode="official"``: its own parts (the
    ``Split`` column: MIMIC's split file, CheXpert train/valid, VinDr train/test) exactly;
    when it has no val part, val is drawn patient-wise from train (1/8, as NIH's official
    mode does); a part it lacks stays empty (CheXpert's test is not public). Images outside
    every official part are left out. A release without an official split (PadChest, RSNA),
    or ``mode="random"``: patient-wise in ``ratios``.
    """
    if release.name == "nih":
        return make_split(release.entries, mode, seed, ratios, release.root)
    entries = release.entries
    if mode == "random" or not release.has_official_split:
        if mode not in ("random", "official"):
            raise ChestxError(f"unknown split mode {mode!r} (use official or random)")
        return _random_split(entries, ratios, seed)
    names = {part: entries.loc[entries["Split"] == part, "Image Index"].tolist()
             for part in PARTS}
    if not names["val"] and names["train"]:
        train = entries[entries["Split"] == "train"]
        drawn = _random_split(train, (1 - OFFICIAL_VAL_SHARE, OFFICIAL_VAL_SHARE, 0.0), seed)
        names["train"], names["val"] = drawn["train"], drawn["val"]
    return names


def dataset_split(root: str | os.PathLike, mode: str = "official", seed: int = 0,
                  options: DataOptions | None = None) -> dict[str, list[str]]:
    """``{"train", "val", "test"}`` of the dataset at ``root``: ``root/split/*.txt`` when
    ``chestx split --out root/split`` wrote them, else :func:`release_split`."""
    root = Path(root)
    if all((root / SPLIT_DIR / f"{p}.txt").is_file() for p in PARTS):
        return {p: read_split_list(root / SPLIT_DIR / f"{p}.txt") for p in PARTS}
    return release_split(open_dataset(root, options), mode, seed)


def write_split(split: dict[str, list[str]], out: str | os.PathLike) -> list[Path]:
    """Write ``out/train.txt``, ``val.txt``, ``test.txt`` (one Image Index a line), atomically."""
    out = Path(out)
    paths = []
    for part in PARTS:
        path = out / f"{part}.txt"
        atomic_write_text(path, "".join(f"{name}\n" for name in split[part]))
        paths.append(path)
    return paths


def load_split(root: str | os.PathLike, name: str, mode: str = "official", seed: int = 0,
               options: DataOptions | None = None) -> list[str]:
    """The Image Index list of part ``name`` (train, val or test) of the dataset at ``root``.

    Uses ``root/split/{name}.txt`` when ``chestx split --out root/split`` wrote it, else
    computes :func:`make_split` with ``mode`` and ``seed`` (default ratios).
    """
    if name not in PARTS:
        raise ChestxError(f"unknown split part {name!r} (use train, val or test)")
    root = Path(root)
    written = root / SPLIT_DIR / f"{name}.txt"
    if written.is_file():
        return read_split_list(written)
    return release_split(open_dataset(root, options), mode, seed)[name]


def split_summary(split: dict[str, list[str]], entries: pd.DataFrame) -> pd.DataFrame:
    """Images, share of images and patients per part (for printing and tests)."""
    patient_of = dict(zip(entries["Image Index"], entries["Patient ID"], strict=True))
    total = sum(len(ids) for ids in split.values()) or 1
    rows = [{"part": part, "images": len(ids), "share": len(ids) / total,
             "patients": len({patient_of[i] for i in ids})} for part, ids in split.items()]
    return pd.DataFrame(rows).set_index("part")


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.7,0.1,0.2"`` -> ``(0.7, 0.1, 0.2)``; three non-negative numbers summing to 1."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise ChestxError(f"ratios {text!r}: expected three numbers like 0.7,0.1,0.2",
                          remedies={"ratios": None}) from exc
    if len(values) != 3 or min(values) < 0 or abs(sum(values) - 1) > 1e-6:
        raise ChestxError(f"ratios {text!r}: need three non-negative shares summing to 1",
                          remedies={"ratios": None})
    return values  # type: ignore[return-value]
