"""chestx label-audit and the AUC against radiologist labels: hand-made CSVs with the table
worked out by hand, and the real NIH file against the Google radiologists' labels."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chestx.errors import ChestxError
from chestx.metrics.label_audit import (
    audit_files,
    radiologist_auc,
    read_mapping,
    read_radiologist_labels,
)

HEADER = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
          "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n")
DATASET = {"1.png": "Pneumothorax", "2.png": "Nodule", "3.png": "Mass|Effusion",
           "4.png": "No Finding", "5.png": "Consolidation",
           "6.png": "Pneumothorax|Infiltration", "7.png": "Atelectasis"}
# Fracture, Pneumothorax, Airspace opacity, Nodule or mass; 6.png read twice (a tie on
# Nodule or mass counts as YES), 7.png unread, 8.png not in the dataset
RADIOLOGISTS = [("1.png", "NO,YES,NO,NO"), ("2.png", "NO,NO,NO,YES"),
                ("3.png", "NO,NO,YES,NO"), ("4.png", "NO,YES,NO,NO"),
                ("5.png", "no,NO,YES,NO"), ("6.png", "NO,NO,YES,NO"),
                ("6.png", "NO,NO,YES,YES"), ("8.png", "YES,YES,YES,YES")]


@pytest.fixture
def pair(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = [f"{name},{labels},0,{i},50,M,PA,1024,1024,0.14,0.14\n"
            for i, (name, labels) in enumerate(DATASET.items(), 1)]
    (data / "Data_Entry_2017.csv").write_text(HEADER + "".join(rows))
    against = tmp_path / "radiologists.csv"
    against.write_text("Image Index,Fracture,Pneumothorax,Airspace opacity,Nodule or mass,"
                       "Set Id\n" + "".join(f"{n},{v},test\n" for n, v in RADIOLOGISTS))
    return data, against


def test_audit_table_matches_the_hand_count(pair):
    table = audit_files(*pair).set_index("finding")
    # Fracture has no NIH finding: not audited
    assert list(table.index) == ["Pneumothorax", "Nodule or mass", "Airspace opacity"]
    assert (table["n"] == 6).all()  # 1..6: in both files
    # Pneumothorax: ours 1,0,0,0,0,1 vs truth 1,0,0,1,0,0 -> tp 1 fp 1 fn 1 tn 3;
    # kappa = (4/6 - 20/36) / (1 - 20/36) = 0.25
    assert table.loc["Pneumothorax", ["agreement", "precision", "recall", "f1", "kappa"]
                     ].tolist() == pytest.approx([4 / 6, 0.5, 0.5, 0.5, 0.25])
    # Nodule or mass = Nodule | Mass: ours 0,1,1,0,0,0 vs 0,1,0,0,0,1 (6.png: a tie -> YES)
    assert table.loc["Nodule or mass", ["agreement", "precision", "recall", "f1", "kappa"]
                     ].tolist() == pytest.approx([4 / 6, 0.5, 0.5, 0.5, 0.25])
    # Airspace opacity: ours 0,0,0,0,1,1 vs 0,0,1,0,1,1 -> tp 2 fp 0 fn 1 tn 3;
    # f1 = 4/5, kappa = (30/36 - 18/36) / (18/36) = 2/3
    assert table.loc["Airspace opacity", ["agreement", "precision", "recall", "f1", "kappa"]
                     ].tolist() == pytest.approx([5 / 6, 1.0, 2 / 3, 0.8, 2 / 3])


def test_cli_writes_the_table(pair, tmp_path, run_cli):
    data, against = pair
    out = tmp_path / "audit.csv"
    code, stdout, err = run_cli("label-audit", "--data", data, "--against", against,
                                "--out", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns) == ["finding", "n", "agreement", "precision", "recall", "f1",
                                   "kappa"]
    assert table.loc[2, "f1"] == pytest.approx(0.8) and "Airspace opacity" in stdout


def test_bad_radiologist_files_are_one_line_errors(pair, tmp_path, run_cli):
    data, against = pair
    bad = tmp_path / "bad.csv"
    bad.write_text(against.read_text().replace("NO,YES,NO,NO", "NO,maybe,NO,NO"))
    with pytest.raises(ChestxError, match=r"line 2: Pneumothorax is 'maybe'"):
        audit_files(data, bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("Image Index,Pneumothorax\n1.png,YES\n")
    code, _, err = run_cli("label-audit", "--data", data, "--against", missing)
    assert code == 2 and err.startswith("error:") and "Fracture" in err


def test_auc_against_radiologists_beside_dataset_labels(pair):
    data, against = pair
    mapping = read_mapping()
    radiologists = read_radiologist_labels(against, list(mapping))
    entries = pd.read_csv(data / "Data_Entry_2017.csv")
    classes = ["Pneumothorax", "Nodule", "Mass", "Consolidation", "Infiltration", "Pneumonia",
               "Edema"]
    ids = ["1.png", "2.png", "3.png", "4.png", "5.png", "6.png", "7.png"]
    probabilities = np.full((7, 7), 0.1)
    probabilities[:, 0] = [0.9, 0.2, 0.3, 0.4, 0.1, 0.8, 0.5]  # Pneumothorax
    probabilities[:, 1] = [0.1, 0.7, 0.2, 0.1, 0.1, 0.3, 0.9]  # Nodule
    probabilities[:, 2] = [0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1]  # Mass
    table = radiologist_auc(ids, probabilities, classes, entries, radiologists,
                            mapping).set_index("finding")
    assert (table["n"] == 6).all()  # 7.png has no radiologist labels
    # Pneumothorax scores 0.9 0.2 0.3 0.4 0.1 0.8; radiologists: 1 and 4 positive ->
    # pairs (pos > neg) of (0.9, 0.4) vs (0.2, 0.3, 0.1, 0.8): 4 + 3 of 8 = 0.875
    assert table.loc["Pneumothorax", "auc_radiologists"] == pytest.approx(7 / 8)
    # dataset's own: 1 and 6 positive (0.9, 0.8) above all four others -> 1.0
    assert table.loc["Pneumothorax", "auc_dataset"] == pytest.approx(1.0)
    # Nodule or mass scores = max(Nodule, Mass) = 0.1 0.7 0.6 0.1 0.1 0.3; radiologists 2, 6;
    # (0.7, 0.3) vs (0.1, 0.6, 0.1, 0.1): 4 + 3 of 8
    assert table.loc["Nodule or mass", "auc_radiologists"] == pytest.approx(7 / 8)
    assert table.loc["Nodule or mass", "positives_dataset"] == 2  # 2.png and 3.png


def test_audit_module_imports_no_torch():
    code = ("import sys, chestx.metrics.label_audit, chestx.data.nih; "
            "sys.exit('torch' in sys.modules)")
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": src},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_real_nih_labels_against_google_radiologists(shared_dir):
    from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score

    nih = shared_dir / "data" / "nih"
    against = nih / "google2019_nih-chest-xray-labels.csv.gz"
    table = audit_files(nih / "Data_Entry_2017_original.csv.gz", against).set_index("finding")
    # an independent count: pandas on the raw files, sklearn's metrics
    google = pd.read_csv(against)
    entries = pd.read_csv(nih / "Data_Entry_2017_original.csv.gz", usecols=[0, 1])
    both = google.merge(entries, on="Image Index", suffixes=("_google", ""))
    labels = both["Finding Labels"].str.split("|")
    ours = {"Pneumothorax": labels.map(lambda x: "Pneumothorax" in x),
            "Nodule or mass": labels.map(lambda x: "Nodule" in x or "Mass" in x),
            "Airspace opacity": labels.map(lambda x: bool({"Consolidation", "Infiltration",
                                                           "Pneumonia", "Edema"} & set(x)))}
    assert both["Image Index"].is_unique and len(both) > 4000
    for name, predicted in ours.items():
        truth, predicted = (both[name] == "YES").astype(int), predicted.astype(int)
        row = table.loc[name]
        assert row["n"] == len(both)
        assert row["agreement"] == pytest.approx((truth == predicted).mean())
        assert row["precision"] == pytest.approx(precision_score(truth, predicted))
        assert row["recall"] == pytest.approx(recall_score(truth, predicted))
        assert row["f1"] == pytest.approx(f1_score(truth, predicted))
        assert row["kappa"] == pytest.approx(cohen_kappa_score(truth, predicted))
