"""Patient-wise splits: greedy assignment, random ratios, the official lists, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chestx.data.nih import read_data_entry, read_split_list
from chestx.data.splits import (
    assign_patients,
    load_split,
    make_split,
    parse_ratios,
    split_summary,
    write_split,
)
from chestx.errors import ChestxError


def skewed_entries(patients: int = 400, seed: int = 0) -> pd.DataFrame:
    """Patients with 1-40 images (heavy tail, like NIH)."""
    rng = np.random.default_rng(seed)
    rows = []
    for pid in range(1, patients + 1):
        for k in range(min(int(rng.geometric(0.2)), 40)):
            rows.append({"Image Index": f"{pid:08d}_{k:03d}.png", "Patient ID": pid,
                         "Finding Labels": "No Finding"})
    return pd.DataFrame(rows)


def check_patient_wise(split, entries):
    patient_of = dict(zip(entries["Image Index"], entries["Patient ID"], strict=True))
    owners = {}
    for part, ids in split.items():
        for name in ids:
            assert owners.setdefault(patient_of[name], part) == part, name


def test_assign_patients_hand_example():
    # 10 images: patients of 4, 3, 1, 1, 1 images into 0.7/0.3 -> exactly 7 and 3 images
    counts = pd.Series({1: 4, 2: 3, 3: 1, 4: 1, 5: 1})
    for seed in range(5):
        parts = assign_patients(counts, (0.7, 0.3), seed=seed)
        sizes = [sum(counts[p] for p, part in parts.items() if part == i) for i in (0, 1)]
        assert sizes == [7, 3]


def test_assign_patients_zero_share_gets_nothing():
    parts = assign_patients(pd.Series({1: 2, 2: 1, 3: 5}), (0.5, 0.0, 0.5), seed=1)
    assert 1 not in parts.values()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_split_is_patient_wise_and_hits_ratios(seed):
    entries = skewed_entries(seed=seed)
    split = make_split(entries, mode="random", seed=seed, ratios=(0.7, 0.1, 0.2))
    check_patient_wise(split, entries)
    assert sorted(sum(split.values(), [])) == sorted(entries["Image Index"])
    shares = split_summary(split, entries)["share"]
    for part, target in zip(("train", "val", "test"), (0.7, 0.1, 0.2), strict=True):
        assert abs(shares[part] - target) < 0.01, (part, shares[part])


def test_random_split_depends_on_seed_only():
    entries = skewed_entries()
    assert make_split(entries, "random", seed=4) == make_split(entries, "random", seed=4)
    assert make_split(entries, "random", seed=4) != make_split(entries, "random", seed=5)


def test_official_split(nih_folder):
    entries = read_data_entry(nih_folder)
    split = make_split(entries, mode="official", root=nih_folder)
    assert split["test"] == ["00000002_000.png"]
    check_patient_wise(split, entries)
    assert sorted(split["train"] + split["val"]) == sorted(
        read_split_list(nih_folder / "train_val_list.txt"))


def test_official_split_rejects_inconsistent_lists(nih_folder):
    entries = read_data_entry(nih_folder)
    (nih_folder / "test_list.txt").write_text("00000002_000.png\n99999999_000.png")
    with pytest.raises(ChestxError, match="test_list.txt: 1 images are not in the Data_Entry"):
        make_split(entries, mode="official", root=nih_folder)
    (nih_folder / "test_list.txt").write_text("00000002_000.png\n00000001_000.png")
    with pytest.raises(ChestxError, match="also in train_val_list.txt"):
        make_split(entries, mode="official", root=nih_folder)
    with pytest.raises(ChestxError, match="needs the dataset folder"):
        make_split(entries, mode="official")


def test_write_and_load_split(nih_folder):
    entries = read_data_entry(nih_folder)
    split = make_split(entries, mode="random", seed=0, ratios=(0.6, 0.2, 0.2))
    paths = write_split(split, nih_folder / "split")
    assert [p.name for p in paths] == ["train.txt", "val.txt", "test.txt"]
    assert (nih_folder / "split" / "test.txt").read_text() == "".join(
        f"{n}\n" for n in split["test"])
    for part in ("train", "val", "test"):  # the written files win over the official lists
        assert load_split(nih_folder, part) == split[part]
    with pytest.raises(ChestxError, match="unknown split part"):
        load_split(nih_folder, "dev")


def test_load_split_computes_official_without_files(nih_folder):
    assert load_split(nih_folder, "test") == ["00000002_000.png"]


@pytest.mark.parametrize("text", ["0.7,0.1", "a,b,c", "0.8,0.3,0.2", "-0.1,0.9,0.2"])
def test_parse_ratios_rejects(text):
    with pytest.raises(ChestxError, match="ratios '"):
        parse_ratios(text)


def test_parse_ratios():
    assert parse_ratios("0.8, 0.1, 0.1") == (0.8, 0.1, 0.1)


@pytest.fixture(scope="module")
def real_entries(shared_dir):
    return read_data_entry(shared_dir / "data" / "nih" / "Data_Entry_2017_original.csv.gz")


def test_real_random_split(real_entries):
    split = make_split(real_entries, mode="random", seed=0)
    check_patient_wise(split, real_entries)
    shares = split_summary(split, real_entries)["share"]
    assert abs(shares["train"] - 0.7) < 0.01 and abs(shares["val"] - 0.1) < 0.01
    assert abs(shares["test"] - 0.2) < 0.01
    assert sum(len(v) for v in split.values()) == 112_120


def test_real_official_split(real_entries, shared_dir):
    nih = shared_dir / "data" / "nih"
    split = make_split(real_entries, mode="official", root=nih)
    assert split["test"] == read_split_list(nih / "test_list.txt")  # exactly, in order
    check_patient_wise(split, real_entries)
    assert len(split["train"]) + len(split["val"]) == 86_524
    assert abs(len(split["val"]) / 86_524 - 1 / 8) < 0.005
