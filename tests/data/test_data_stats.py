"""Table 16 statistics: hand-counted tiny CSV and the real NIH CSV."""

from __future__ import annotations

import json

from PIL import Image

from chestx.data.nih import read_data_entry
from chestx.data.stats import cooccurrence, dataset_stats, format_table, plot_cooccurrence
from chestx.findings import FINDINGS

# The paper's Table 16, ChestX-ray14 columns (count, overlap), with its two misprints
# replaced by the CSV's own numbers: Infiltration 19,871 -> 19,870, Mass Ov. 2,138 -> 3,608.
TABLE_16 = {
    "Atelectasis": (11_535, 7_323), "Cardiomegaly": (2_772, 1_678),
    "Effusion": (13_307, 9_348), "Infiltration": (19_870, 10_319), "Mass": (5_746, 3_608),
    "Nodule": (6_323, 3_617), "Pneumonia": (1_353, 1_046), "Pneumothorax": (5_298, 3_099),
    "Consolidation": (4_667, 3_353), "Edema": (2_303, 1_669), "Emphysema": (2_516, 1_621),
    "Fibrosis": (1_686, 959), "Pleural_Thickening": (3_385, 2_258), "Hernia": (227, 117),
}


def test_hand_counted_stats(nih_folder):
    # rows: Cardiomegaly | Cardiomegaly+Emphysema | No Finding | Hernia+Infiltration |
    #       Effusion+Infiltration+Mass ; patients 1, 1, 2, 3, 3
    stats = dataset_stats(read_data_entry(nih_folder))
    assert stats["images"] == 5 and stats["patients"] == 3 and stats["no_finding"] == 1
    expected = {name: {"count": 0, "overlap": 0} for name in FINDINGS}
    expected["Cardiomegaly"] = {"count": 2, "overlap": 1}
    expected["Infiltration"] = {"count": 2, "overlap": 2}
    for name in ("Emphysema", "Hernia", "Effusion", "Mass"):
        expected[name] = {"count": 1, "overlap": 1}
    assert stats["findings"] == expected
    assert list(stats["findings"]) == list(FINDINGS)
    json.dumps(stats)  # plain ints only


def test_cooccurrence_counts(nih_folder):
    matrix = cooccurrence(read_data_entry(nih_folder))
    assert matrix.shape == (14, 14)
    assert matrix.loc["Infiltration", "Infiltration"] == 2
    assert matrix.loc["Infiltration", "Hernia"] == matrix.loc["Hernia", "Infiltration"] == 1
    assert matrix.loc["Cardiomegaly", "Emphysema"] == 1
    assert matrix.loc["Cardiomegaly", "Mass"] == 0
    assert matrix.to_numpy().sum() == 1 + 4 + 0 + 4 + 9  # sum over rows of (labels in row)^2


def test_format_table(nih_folder):
    text = format_table(dataset_stats(read_data_entry(nih_folder)))
    lines = text.splitlines()
    assert lines[0].split() == ["Item", "#", "Ov."]
    assert lines[2].split() == ["Cardiomegaly", "2", "1"]
    assert lines[-3].split() == ["No", "Finding", "1", "0"]
    assert lines[-1].split() == ["Patients", "3"]


def test_plot(nih_folder, tmp_path):
    path = plot_cooccurrence(read_data_entry(nih_folder), tmp_path / "co.png")
    with Image.open(path) as image:
        assert image.size[0] > 500 and image.size[1] > 500


def test_real_csv_reproduces_table_16(shared_dir):
    nih = shared_dir / "data" / "nih"
    stats = dataset_stats(read_data_entry(nih / "Data_Entry_2017_original.csv.gz"))
    assert stats["images"] == 112_120 and stats["patients"] == 30_805
    assert stats["no_finding"] == 60_412
    assert {k: (v["count"], v["overlap"]) for k, v in stats["findings"].items()} == TABLE_16
