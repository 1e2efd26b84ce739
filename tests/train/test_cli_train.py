"""CLI: train / cache / evaluate / reproduce end to end on tiny phantoms."""

import csv

import numpy as np
import pandas as pd

from chestx.findings import FINDINGS
from chestx.models import read_checkpoint


def test_train_cache_evaluate_commands(tiny_data, tmp_path, run_cli):
    import shutil

    original, data = tiny_data, tmp_path / "data"
    shutil.copytree(tiny_data, data)
    code, out, err = run_cli("cache", "--data", data, "--size", "32", "-q")
    assert code == 0 and "cached 48 images" in out
    shutil.rmtree(data / "images")  # from now on only the cache can serve the pixels
    (data / "BBox_List_2017.csv").unlink()  # (localization reads the image files)
    run = tmp_path / "run"
    code, out, err = run_cli("train", "--data", data, "--out", run, "--backbone",
                             "resnet18", "--image-size", "32", "--no-pretrained", "--epochs",
                             "1", "--batch-size", "8", "--iter-size", "1", "--workers", "0",
                             "--split", "random", "-q")
    assert code == 0, err
    assert "best mean val AUC" in out and (run / "best.pt").is_file()
    tiny_data = data
    evaluation = tmp_path / "eval"
    code, out, err = run_cli("evaluate", "--checkpoint", run / "best.pt", "--data", tiny_data,
                             "--out", evaluation, "--workers", "0", "-q")
    assert code == 0, err
    predictions = pd.read_csv(evaluation / "predictions.csv")
    test_ids = (tiny_data / "test_list.txt").read_text().split()
    # evaluate uses the split the run was trained with (random, seed 0)
    state = read_checkpoint(run / "best.pt")
    assert state["train_config"]["split"] == "random"
    assert list(predictions.columns) == ["Image Index", "Path", "Finding Labels", *FINDINGS,
                                         "ood_score", "out_of_distribution", "ood_reason"]
    assert predictions[list(FINDINGS)].le(1).all().all()
    assert predictions["Path"].isna().all()  # the pixels came from the cache, not a file
    # one schema: `chestx predict` on one of those images writes the same table
    first = predictions.iloc[0]
    code, _, err = run_cli("predict", "--checkpoint", run / "best.pt",
                           original / "images" / first["Image Index"], "--out",
                           tmp_path / "predicted", "-q")
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "predicted" / "predictions.csv")
    assert list(predicted.columns) == list(predictions.columns)
    assert np.allclose(predicted[list(FINDINGS)].iloc[0], first[list(FINDINGS)].astype(float),
                       atol=1e-4)
    assert len(predictions) and not set(predictions["Image Index"]) - set(
        pd.read_csv(tiny_data / "Data_Entry_2017.csv")["Image Index"])
    assert test_ids  # the folder has official lists too; random split was used instead
    rows = list(csv.DictReader(open(evaluation / "auc.csv")))
    assert [r["finding"] for r in rows][-1] == "mean" and len(rows) == 15
    edema = next(r for r in rows if r["finding"] == "Edema")  # never planted
    assert edema["auc"] == "" and edema["n_pos"] == "0"
    assert (evaluation / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean" in out and "planted findings" in out  # tiny_data is a phantom folder


def test_cli_errors_are_one_line(tiny_data, tmp_path, run_cli, monkeypatch):
    import urllib.error

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", offline)
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "nope.pt", "--data",
                             tiny_data, "--out", tmp_path / "e")
    assert code == 2 and err.strip().startswith("error:") and "nope.pt" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli("train", "--data", tiny_data, "--out", tmp_path / "r",
                             "--backbone", "resnet18", "--image-size", "32",
                             "--pretrained", "--epochs", "1")
    assert code == 2 and "could not download the ImageNet weights of resnet18" in err
    assert "--no-pretrained" in err and len(err.strip().splitlines()) == 1


def test_reproduce_pooling_grid_tiny(tiny_data, tmp_path, run_cli):
    out = tmp_path / "repro"
    code, stdout, err = run_cli("reproduce", "--data", tiny_data, "--grid", "pooling",
                                "--values", "lse:10,avg", "--out", out, "--backbone",
                                "resnet18", "--image-size", "32", "--epochs", "1",
                                "--batch-size", "8", "--iter-size", "1", "--no-pretrained",
                                "--workers", "0", "--split", "random", "-q")
    assert code == 0, err
    table = pd.read_csv(out / "pooling" / "table.csv")
    assert list(table["Setting"]) == ["LSE r=10", "Average"]
    assert list(table.columns[1:9]) == ["Atelectasis", "Cardiomegaly", "Effusion",
                                        "Infiltration", "Mass", "Nodule", "Pneumonia",
                                        "Pneumothorax"]
    markdown = (out / "pooling" / "table.md").read_text()
    assert markdown.startswith("|Setting|Atelectasis|") and "|Average|" in markdown
    runs = sorted(p.name for p in (out / "pooling").iterdir() if p.is_dir())
    assert runs == ["avg", "lse_r10"]
    assert read_checkpoint(out / "pooling" / "avg" / "best.pt")["config"]["pooling"] == "avg"
