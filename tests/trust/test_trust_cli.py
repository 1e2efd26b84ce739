"""The trust record end to end: fitted at the end of training, used by predict and evaluate,
re-fitted by `chestx calibrate`, shown by `chestx card`; old checkpoints say what they lack."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from chestx.data.nih import read_data_entry
from chestx.findings import split_labels
from chestx.models.state import read_checkpoint
from chestx.trust.card import CARD_COLUMNS
from chestx.trust.state import TRUST_KEY, TrustState


#: ECE written independently of chestx.metrics.calibration: 15 equal-width bins.
def independent_ece(p: np.ndarray, y: np.ndarray) -> float:
    edges = np.linspace(0.0, 1.0, 16)
    total = 0.0
    for b in range(15):
        inside = (p >= edges[b]) & ((p < edges[b + 1]) if b < 14 else (p <= 1.0))
        if inside.any():
            total += inside.sum() / len(p) * abs(y[inside].mean() - p[inside].mean())
    return total


def test_training_stores_the_trust_record(trust_run):
    state = read_checkpoint(trust_run)
    record = TrustState.from_dict(state[TRUST_KEY])
    assert record.detector == "mahalanobis-layers" and record.ood_quantile == 0.99
    assert record.operating_point == "youden"
    assert record.val_logits.shape == record.val_labels.shape
    assert record.data["synthetic"] is True and record.data["train_images"] > 0
    assert set(record.metrics) >= {"validation", "test", "detectors"}


def test_card_numbers_equal_the_checkpoint(trust_run, run_cli, tmp_path):
    code, out, err = run_cli("card", "--checkpoint", trust_run, "--out", tmp_path / "card.md")
    assert code == 0, err
    card = (tmp_path / "card.md").read_text()
    assert card.splitlines()[0].startswith("# Model card: TRAINED ON SYNTHETIC PHANTOMS")
    record = read_checkpoint(trust_run)[TRUST_KEY]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in card.splitlines() if line.startswith("| ") and "---" not in line}
    compared = 0
    for name in record["classes"]:
        for cell, (_, split, key, _) in zip(rows[name], CARD_COLUMNS, strict=True):
            value = record["metrics"][split]["findings"][name][key]
            if cell == "—":
                assert value is None or np.isnan(value)
            else:
                assert float(cell) == pytest.approx(value, abs=5e-4), (name, key)
                compared += 1
    assert compared > 50
    assert f"{record['ood_threshold']:.4g}" in card
    assert f"{record['data']['train_images']} images" in card


def test_evaluate_calibration_matches_an_independent_ece(trust_run, trust_data, run_cli,
                                                         tmp_path):
    out = tmp_path / "eval"
    code, _, err = run_cli("evaluate", "--checkpoint", trust_run, "--data", trust_data,
                           "--out", out, "--workers", "0", "-q")
    assert code == 0, err
    table = pd.read_csv(out / "calibration.csv")
    assert list(table.columns) == ["finding", "ece_before", "ece_after", "brier", "temperature"]
    assert (out / "calibration.png").stat().st_size > 1000
    predictions = pd.read_csv(out / "predictions.csv")
    assert {"ood_score", "out_of_distribution"} <= set(predictions.columns)
    assert set(predictions["out_of_distribution"]) <= {0, 1}
    entries = read_data_entry(trust_data).set_index("Image Index")
    record = read_checkpoint(trust_run)[TRUST_KEY]
    for row in table.itertuples():
        labels = np.array([row.finding in split_labels(entries.loc[i, "Finding Labels"])
                           for i in predictions["Image Index"]], dtype=float)
        p = predictions[row.finding].to_numpy()
        assert row.ece_after == pytest.approx(independent_ece(p, labels), abs=1e-6)
        assert row.brier == pytest.approx(np.mean((p - labels) ** 2), abs=1e-6)
        index = record["classes"].index(row.finding)
        assert row.temperature == pytest.approx(record["temperatures"][index], abs=1e-6)


def test_predict_reports_ood_and_thresholds(trust_run, trust_data, run_cli, tmp_path):
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8)
                    ).save(noise)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((128, 128), 7, np.uint8)).save(blank)
    phantom = sorted((trust_data / "images").glob("*.png"))[0]
    code, out, err = run_cli("predict", noise, blank, phantom, "--checkpoint", trust_run,
                             "--out", tmp_path / "pred", "-q")
    assert code == 0, err
    assert "thresholds: operating point youden (per finding)" in err
    table = pd.read_csv(tmp_path / "pred" / "predictions.csv").set_index("Image Index")
    assert table.loc["blank.png", "out_of_distribution"] == 1
    assert "near-constant" in table.loc["blank.png", "ood_reason"]
    assert np.isfinite(table["ood_score"]).all()
    assert re.search(r"blank\.png: OUT-OF-DISTRIBUTION \(near-constant", out)
    code, out, err = run_cli("predict", blank, "--checkpoint", trust_run, "--json",
                             "--threshold", "0.3", "--operating-point", "specificity=0.95")
    body = json.loads(out)["predictions"][0]
    assert body["out_of_distribution"] is True and body["calibrated"] is True
    assert body["threshold"] == 0.3 and body["threshold_source"] == "--threshold 0.3"
    assert set(body["thresholds"].values()) == {0.3}


def test_old_checkpoint_says_what_it_lacks_once_and_calibrate_adds_it(
        trust_run, trust_data, run_cli, tmp_path):
    old = tmp_path / "old.pt"
    state = read_checkpoint(trust_run)
    del state[TRUST_KEY]
    torch.save(state, old)
    images = sorted((trust_data / "images").glob("*.png"))[:3]
    code, out, err = run_cli("predict", *images, "--checkpoint", old, "--batch-size", "1",
                             "--out", tmp_path / "pred", "-q")
    assert code == 0, err
    assert err.count("has no out-of-distribution statistics") == 1
    assert "uncalibrated; threshold 0.5" in err
    table = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert table["ood_score"].isna().all() and (table["out_of_distribution"] == 0).all()
    code, out, err = run_cli("card", "--checkpoint", old)
    assert code == 2 and "chestx calibrate" in err
    code, out, err = run_cli("calibrate", "--checkpoint", old, "--data", trust_data,
                             "--operating-point", "sensitivity=0.95", "--detector", "energy")
    assert code == 0, err
    assert out.startswith("trust: energy statistics") and "mean ECE" in out
    record = read_checkpoint(old)[TRUST_KEY]
    assert record["operating_point"] == "sensitivity=0.95" and record["detector"] == "energy"
    assert read_checkpoint(old)["model_state"].keys() == state["model_state"].keys()
    shutil.rmtree(tmp_path / "pred")
