"""Train on the CheXpert layout, evaluate on the MIMIC-CXR-JPG layout: AUC rows for the
findings both label spaces share, and the others named as left out."""

from __future__ import annotations

import pandas as pd
import pytest
from release_fixtures import write_chexpert, write_mimic

from chestx.data.releases.labelmap import release_label_space
from chestx.findings import FINDINGS


@pytest.mark.slow
def test_train_on_chexpert_evaluate_on_mimic(run_cli, tmp_path):
    chexpert = write_chexpert(tmp_path, patients=16, size=32)["root"]
    mimic = write_mimic(tmp_path / "mimic", size=32)["root"]
    code, out, err = run_cli("train", "--data", chexpert, "--out", tmp_path / "run",
                             "--backbone", "resnet18", "--no-pretrained", "--image-size", "64",
                             "--epochs", "1", "--batch-size", "4", "--workers", "0", "-q")
    assert code == 0, err
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "run" / "best.pt",
                             "--data", mimic, "--out", tmp_path / "ev", "--split", "all", "-q")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "ev" / "auc.csv")
    shared = [f for f in FINDINGS if f in release_label_space("chexpert")
              and f in release_label_space("mimic")]
    assert table["finding"].tolist() == [*shared, "mean"]
    assert table["auc"].notna().sum() >= 3  # the fixture has both outcomes for most findings
    for name in set(FINDINGS) - set(shared):
        assert f"left out {name}: not labelled in the training data (chexpert)" in out
