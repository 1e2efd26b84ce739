"""Synthetic NIH folders: exact format, boxes on planted findings, splits, determinism."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from PIL import Image

from chestx.data.bbox_csv import BBOX_HEADER, read_bbox_list
from chestx.data.datasets import NIHDataset
from chestx.data.nih import DATA_ENTRY_COLUMNS, find_images, read_data_entry, read_split_list
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, PAPER_8, split_labels
from chestx.synth.cohort import BOXED_FINDINGS, PLANTED_FINDINGS, plan_cohort, synthesize


def test_planted_findings_are_known_names():
    assert set(PLANTED_FINDINGS) <= set(FINDINGS) and len(PLANTED_FINDINGS) >= 6
    assert {"Atelectasis", "Cardiomegaly", "Effusion", "Mass", "Nodule",
            "Pneumothorax"} <= set(PLANTED_FINDINGS)
    assert set(BOXED_FINDINGS) == set(PLANTED_FINDINGS) & set(PAPER_8)


def test_data_entry_is_the_v2020_form(synth_dir):
    raw = (synth_dir / "Data_Entry_2017.csv").read_bytes().decode()
    assert "\r" not in raw
    lines = raw.splitlines()
    assert lines[0] == ",".join(DATA_ENTRY_COLUMNS) and len(lines) == 41
    entries = read_data_entry(synth_dir)
    for _, row in entries.iterrows():
        assert row["Image Index"] == f"{row['Patient ID']:08d}_{row['Follow-up #']:03d}.png"
        assert row["OriginalImage[Width"] == row["Height]"] == 64
        assert row["View Position"] in ("PA", "AP") and row["Patient Gender"] in ("M", "F")
        assert 0 < row["Patient Age"] < 100
    assert entries.groupby("Patient ID").size().max() >= 2  # follow-ups exist
    labels = {name for cell in entries["Finding Labels"] for name in split_labels(cell)}
    assert labels <= set(PLANTED_FINDINGS) | {"Pneumonia"}
    assert (entries["Finding Labels"] == "No Finding").any()
    pneumonia = entries[entries["Finding Labels"].str.contains("Pneumonia")]
    assert pneumonia["Finding Labels"].str.contains("Consolidation|Infiltration").all()


def test_images_are_8_bit_gray_of_the_size(synth_dir):
    entries = read_data_entry(synth_dir)
    images = find_images(synth_dir)
    assert sorted(images) == sorted(entries["Image Index"])
    assert all(path.parent == synth_dir / "images" for path in images.values())
    for path in list(images.values())[:5]:
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (64, 64)
            pixels = np.asarray(image)
        assert pixels.std() > 20  # a picture, not a blank


def test_split_lists_are_patient_wise_official_style(synth_dir):
    for name in ("train_val_list.txt", "test_list.txt"):
        assert not (synth_dir / name).read_text().endswith("\n")
    train_val = read_split_list(synth_dir / "train_val_list.txt")
    test = read_split_list(synth_dir / "test_list.txt")
    assert train_val == sorted(train_val) and test == sorted(test)
    assert sorted(train_val + test) == sorted(read_data_entry(synth_dir)["Image Index"])
    patients = {name[:8] for name in test}
    assert not patients & {name[:8] for name in train_val}
    assert 0.1 <= len(test) / 40 <= 0.3


def test_boxes_are_true_boxes_of_planted_findings_on_test_images(synth_dir):
    raw = (synth_dir / "BBox_List_2017.csv").read_text().splitlines()
    assert raw[0] == BBOX_HEADER == "Image Index,Finding Label,Bbox [x,y,w,h],,,"
    assert all(line.count(",") == 5 for line in raw[1:])
    assert not any(",Infiltration," in line for line in raw)  # NIH writes Infiltrate
    boxes = read_bbox_list(synth_dir)
    assert len(boxes) > 0
    test = set(read_split_list(synth_dir / "test_list.txt"))
    labels = read_data_entry(synth_dir).set_index("Image Index")["Finding Labels"]
    for _, box in boxes.iterrows():
        assert box["Image Index"] in test
        assert box["Finding Label"] in BOXED_FINDINGS
        assert box["Finding Label"] in split_labels(labels[box["Image Index"]])
        assert 0 <= box.x and 0 <= box.y and box.w >= 1 and box.h >= 1
        assert box.x + box.w <= 64 and box.y + box.h <= 64
    assert not boxes.duplicated(["Image Index", "Finding Label"]).any()
    # every test image carrying a boxed finding has its box
    expected = {(name, f) for name in test for f in split_labels(labels[name])
                if f in BOXED_FINDINGS}
    assert set(zip(boxes["Image Index"], boxes["Finding Label"], strict=True)) == expected


def test_dataset_reads_synth(synth_dir):
    ds = NIHDataset(synth_dir, split="test", image_size=32)
    image, labels = ds[0]
    assert image.shape == (1, 32, 32) and labels.shape == (14,)


def test_label_frequencies_of_a_default_cohort():
    images = plan_cohort(1000, seed=0)
    counts = {f: 0 for f in FINDINGS}
    normal = 0
    for image in images:
        names = split_labels(image.finding_labels)
        normal += not names
        for name in names:
            counts[name] += 1
    assert 0.3 <= normal / 1000 <= 0.55
    for name in PLANTED_FINDINGS:  # enough positives to learn and to evaluate
        assert 40 <= counts[name] <= 200, (name, counts[name])
    assert counts["Edema"] == counts["Fibrosis"] == 0
    patients = {image.patient for image in images}
    assert 250 <= len(patients) <= 450


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    one = _files(synthesize(tmp_path / "a", n=64, size=32, seed=1, workers=1))
    two = _files(synthesize(tmp_path / "b", n=64, size=32, seed=1, workers=2))
    assert one == two and len(one) == 64 + 5
    other = _files(synthesize(tmp_path / "c", n=64, size=32, seed=2, workers=1))
    assert other != one


def test_resume_and_refusals(tmp_path, synth_dir):
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    before = _files(copy)
    for name in sorted((copy / "images").iterdir())[:6]:
        name.unlink()
    (copy / "BBox_List_2017.csv").unlink()
    synthesize(copy, n=40, size=64, seed=3, workers=1)
    assert _files(copy) == before
    with pytest.raises(ChestxError, match="other parameters"):
        synthesize(copy, n=40, size=64, seed=4)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "Data_Entry_2017.csv").write_text("real data")
    with pytest.raises(ChestxError, match="not empty"):
        synthesize(tmp_path / "busy", n=10, size=32)
    with pytest.raises(ChestxError, match="size >= 32"):
        synthesize(tmp_path / "small", n=10, size=16)


def test_image_names_match_nih_pattern(synth_dir):
    pattern = re.compile(r"^\d{8}_\d{3}\.png$")
    assert all(pattern.match(p.name) for p in (synth_dir / "images").iterdir())
