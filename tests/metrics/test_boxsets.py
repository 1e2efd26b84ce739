"""Calibration and scoring boxes: never the same images, never the same patient."""

from __future__ import annotations

import pandas as pd

from chestx.metrics.boxsets import calibration_and_scoring, split_by_patient


def boxes(n_patients: int = 12, follow_ups: int = 3) -> tuple[pd.DataFrame, dict[str, str]]:
    rows, patients = [], {}
    findings = ["Mass", "Nodule", "Effusion"]
    for p in range(n_patients):
        for f in range(follow_ups):
            name = f"{p:08d}_{f:03d}.png"
            patients[name] = str(p)
            rows.append((name, findings[(p + f) % 3], 1.0, 2.0, 3.0, 4.0))
            if f == 0:
                rows.append((name, "Cardiomegaly", 5.0, 5.0, 9.0, 9.0))
    return (pd.DataFrame(rows, columns=["Image Index", "Finding Label", "x", "y", "w", "h"]),
            patients)


def test_halves_are_disjoint_by_patient_and_cover_every_image():
    gt, patients = boxes()
    first, second = split_by_patient(gt, patients, seed=3)
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == set(gt["Image Index"])
    assert {patients[i] for i in first}.isdisjoint({patients[i] for i in second})
    # balanced: each finding's boxes split within one patient's worth
    for finding, rows in gt.groupby("Finding Label"):
        in_first = rows["Image Index"].isin(first).sum()
        assert abs(2 * in_first - len(rows)) <= 3, finding
    assert split_by_patient(gt, patients, seed=3) == (first, second)  # seeded


def test_sets_in_order_of_preference():
    gt, patients = boxes()
    half = calibration_and_scoring(gt, patient_of=patients)
    cal, score = set(half.calibrate["Image Index"]), set(half.score["Image Index"])
    assert cal and score and cal.isdisjoint(score)
    assert {patients[i] for i in cal}.isdisjoint({patients[i] for i in score})
    assert "patient-wise half" in half.describe()
    validation = gt[gt["Image Index"].str.startswith("00000000")]
    scored = gt[~gt["Image Index"].str.startswith("00000000")]
    val = calibration_and_scoring(scored, validation, patient_of=patients)
    assert val.calibrate.equals(validation) and val.score.equals(scored)
    assert "validation images" in val.calibrated_on
    given = gt[gt["Image Index"].str.startswith("00000001")]
    fromfile = calibration_and_scoring(gt, validation, given, "my.csv", patients)
    assert "my.csv" in fromfile.calibrated_on
    assert set(fromfile.score["Image Index"]).isdisjoint(set(given["Image Index"]))
