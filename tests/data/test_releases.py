"""Public releases read as shipped: counts against a hand count of what the fixture wrote."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from release_fixtures import (
    UNAMBIGUOUS,
    write_chexpert,
    write_mimic,
    write_padchest,
    write_rsna,
    write_vindr,
)

from chestx.data.nih import read_split_list
from chestx.data.releases import DataOptions, data_options, detect_release, open_dataset
from chestx.data.releases.labelmap import map_table
from chestx.data.splits import release_split
from chestx.data.stats import release_stats
from chestx.errors import ChestxError
from chestx.findings import FINDINGS

FRONTAL = {"PA", "AP"}
PADCHEST_TARGET = {"cardiomegaly": "Cardiomegaly", "pleural effusion": "Effusion",
                   "pneumothorax": "Pneumothorax", "laminar atelectasis": "Atelectasis",
                   "consolidation": "Consolidation", "pulmonary edema": "Edema",
                   "pneumonia": "Pneumonia"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    base = tmp_path_factory.mktemp("releases")
    return {"chexpert": write_chexpert(base), "mimic": write_mimic(base / "mimic-cxr-jpg"),
            "padchest": write_padchest(base / "padchest"), "vindr": write_vindr(base / "vindr"),
            "rsna": write_rsna(base / "rsna")}


def _chexpert_expected(rows: list[dict]) -> dict:
    kept = [r for r in rows if r["view"] in FRONTAL]
    findings = {f: {"count": sum(r["labels"][s] == 1.0 for r in kept),
                    "uncertain": sum(r["labels"][s] == -1.0 for r in kept)}
                for f, s in UNAMBIGUOUS.items()}
    return {"images": len(kept), "excluded_views": len(rows) - len(kept),
            "patients": len({r["patient"] for r in kept}), "findings": findings}


def _check(stats: dict, expected: dict) -> None:
    for key in ("images", "excluded_views", "patients"):
        assert stats[key] == expected[key], key
    for name, row in expected["findings"].items():
        assert stats["findings"][name]["count"] == row["count"], name
        assert stats["findings"][name]["uncertain"] == row["uncertain"], name


def test_detects_every_layout(releases):
    for name, spec in releases.items():
        assert detect_release(spec["root"]) == name


def test_unknown_layout_names_the_folder(tmp_path):
    with pytest.raises(ChestxError, match=str(tmp_path)):
        detect_release(tmp_path)


def test_chexpert_counts_as_hand_counted(releases):
    spec = releases["chexpert"]
    _check(release_stats(open_dataset(spec["root"])), _chexpert_expected(spec["rows"]))


def test_chexpert_full_size_root_and_renamed_root(tmp_path):
    spec = write_chexpert(tmp_path, patients=4, small=False)
    assert spec["root"].name == "CheXpert-v1.0"
    renamed = spec["root"].rename(tmp_path / "chexpert")
    release = open_dataset(renamed)
    assert len(release.problems) == 0  # every image found under the renamed root
    _check(release_stats(release), _chexpert_expected(spec["rows"]))


def test_mimic_counts_as_hand_counted(releases):
    images = releases["mimic"]["images"]
    kept = [i for i in images if i["view"] in FRONTAL]
    expected = {"images": len(kept), "excluded_views": len(images) - len(kept),
                "patients": len({i["subject"] for i in kept}),
                "findings": {f: {"count": sum(i["labels"][s] == 1.0 for i in kept),
                                 "uncertain": sum(i["labels"][s] == -1.0 for i in kept)}
                             for f, s in UNAMBIGUOUS.items()}}
    _check(release_stats(open_dataset(releases["mimic"]["root"])), expected)


def test_padchest_counts_as_hand_counted(releases):
    rows = releases["padchest"]["rows"]
    kept = [r for r in rows if r["projection"] in FRONTAL]
    findings = {f: {"count": sum(any(PADCHEST_TARGET.get(t) == f for t in r["labels"])
                                 for r in kept), "uncertain": 0} for f in UNAMBIGUOUS}
    expected = {"images": len(kept), "excluded_views": len(rows) - len(kept),
                "patients": len({r["patient"] for r in kept}), "findings": findings}
    stats = release_stats(open_dataset(releases["padchest"]["root"]))
    _check(stats, expected)
    release = open_dataset(releases["padchest"]["root"])
    assert dict(release.excluded_views) == {"AP_HORIZONTAL": 2, "COSTAL": 2, "L": 2}


def test_vindr_and_rsna_counts(releases):
    vindr = release_stats(open_dataset(releases["vindr"]["root"]))
    assert (vindr["images"], vindr["patients"], vindr["excluded_views"]) == (3, 3, 0)
    # any reader: Cardiomegaly (3 readers) and Pneumothorax (1 of 3) on train image 0
    assert [vindr["findings"][f]["count"] for f in
            ("Cardiomegaly", "Pneumothorax", "Effusion", "Pneumonia")] == [1, 1, 1, 1]
    dropped = open_dataset(releases["vindr"]["root"]).dropped
    assert {k: v for k, v in dropped.items() if v} == {"Nodule/Mass": 1}
    rsna = release_stats(open_dataset(releases["rsna"]["root"]))
    assert (rsna["images"], rsna["patients"], rsna["findings"]["Pneumonia"]["count"]) == (
        4, 4, 2)


def test_views_option_keeps_laterals(releases):
    rows = releases["chexpert"]["rows"]
    everything = open_dataset(releases["chexpert"]["root"], DataOptions(views=("all",)))
    assert len(everything.entries) == len(rows) and not everything.excluded_views
    lateral = open_dataset(releases["chexpert"]["root"], DataOptions(views=("LATERAL",)))
    assert len(lateral.entries) == sum(r["view"] == "LATERAL" for r in rows)


def test_uncertain_policies(releases):
    root = releases["chexpert"]["root"]
    rows = {r["path"].split("/", 1)[1]: r for r in releases["chexpert"]["rows"]}
    column = FINDINGS.index("Effusion")
    for policy, expected in (("ignore", np.nan), ("zeros", 0.0), ("ones", 1.0)):
        release = open_dataset(root, DataOptions(uncertain=policy))
        labels = release.labels()
        for i, name in enumerate(release.image_ids):
            value = rows[name]["labels"]["Pleural Effusion"]
            want = expected if value == -1.0 else float(value == 1.0)
            assert labels[i, column] == want or (np.isnan(want) and np.isnan(labels[i, column]))
    # findings CheXpert does not label are unknown, never negative
    assert np.isnan(labels[:, FINDINGS.index("Hernia")]).all()


def test_official_splits_kept(releases):
    mimic = open_dataset(releases["mimic"]["root"])
    split = release_split(mimic)
    official = {f"{i['dicom']}.jpg": i["split"] for i in releases["mimic"]["images"]}
    renamed = {"train": "train", "val": "validate", "test": "test"}
    for part, names in split.items():
        assert names and all(official[n] == renamed[part] for n in names)
    chexpert = release_split(open_dataset(releases["chexpert"]["root"]))
    assert all(n.startswith("train/") for n in chexpert["train"])
    assert chexpert["val"] and all(n.startswith("valid/") for n in chexpert["val"])
    assert chexpert["test"] == []
    vindr = release_split(open_dataset(releases["vindr"]["root"]))
    assert vindr["test"] == [f"{i}.dicom" for i in releases["vindr"]["ids"]["test"]]
    assert sorted(vindr["train"] + vindr["val"]) == sorted(
        f"{i}.dicom" for i in releases["vindr"]["ids"]["train"])


def test_release_without_split_is_split_patient_wise(releases):
    release = open_dataset(releases["padchest"]["root"])
    split = release_split(release, seed=3)
    patient = dict(zip(release.entries["Image Index"], release.entries["Patient ID"],
                       strict=True))
    owners = [{patient[n] for n in names} for names in split.values()]
    assert sum(len(o) for o in owners) == len(set().union(*owners))  # no patient in two parts
    assert sum(len(v) for v in split.values()) == len(release.entries)


def test_vindr_boxes_all_readers_and_fused(releases):
    root = releases["vindr"]["root"]
    apart = open_dataset(root, DataOptions(readers="all")).boxes
    mapped = {"Cardiomegaly": "Cardiomegaly", "Pneumothorax": "Pneumothorax",
              "Pleural effusion": "Effusion"}
    expected = sorted((f"{b[0]}.dicom", mapped[b[2]], b[3], b[4], b[5] - b[3], b[6] - b[4], b[1])
                      for b in releases["vindr"]["boxes"] if b[2] in mapped)
    got = sorted(tuple(r) for r in apart[["Image Index", "Finding Label", "x", "y", "w", "h",
                                          "reader"]].itertuples(index=False))
    assert got == expected
    fused = open_dataset(root).boxes.set_index("Finding Label")
    # R8 and R9 agree (IoU 0.68 >= 0.4): 2 of 3 readers, mean corners; R10's box and the
    # single reader's Pneumothorax box have no majority
    assert sorted(fused.index) == ["Cardiomegaly", "Effusion"]
    x0, y0, x1, y1 = (20.5 + 21.5) / 2, (30.0 + 31.0) / 2, (44.25 + 45.25) / 2, 40.5
    assert tuple(fused.loc["Cardiomegaly", ["x", "y", "w", "h"]]) == (x0, y0, x1 - x0, y1 - y0)


def test_split_cli_official_on_a_release_random_on_request(run_cli, releases, tmp_path):
    root = releases["mimic"]["root"]
    for flags, mode in (((), "official"), (("--random", "--seed", "1"), "random")):
        code, _, _ = run_cli("split", "--data", root, "--out", tmp_path / mode, *flags)
        assert code == 0
        expected = release_split(open_dataset(root), mode=mode, seed=1)
        for part, names in expected.items():
            assert read_split_list(tmp_path / mode / f"{part}.txt") == names, (mode, part)
    # the shares are checked before any data is read: the error names --ratios, not the folder
    code, _, err = run_cli("split", "--data", tmp_path / "absent", "--out", tmp_path / "x",
                           "--ratios", "0.5,0.5")
    assert code == 2 and "ratios '0.5,0.5'" in err and "absent" not in err


def test_data_options_from_settings_fields():
    assert data_options({"views": "pa, ap", "uncertain": None}, readers="all") == DataOptions(
        views=("PA", "AP"), readers="all")
    assert data_options(object()) == DataOptions()
    with pytest.raises(ChestxError, match="--uncertain 'maybe'"):
        data_options({"uncertain": "maybe"})


def test_boxes_export_cli(run_cli, releases, tmp_path):
    out = tmp_path / "rsna.csv"
    code, text, _ = run_cli("boxes", "export", "--data", releases["rsna"]["root"], "--out", out,
                            "--readers", "all")
    assert code == 0 and "3 boxes" in text
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]",
                                   "reader"]
    expected = sorted((f"{b[0]}.dcm", *b[1:]) for b in releases["rsna"]["boxes"])
    got = sorted(zip(frame["Image Index"], frame["Bbox [x"], frame["y"], frame["w"],
                     frame["h]"], strict=True))
    assert got == expected and set(frame["Finding Label"]) == {"Pneumonia"}


def test_stats_cli_json(run_cli, releases):
    code, out, err = run_cli("stats", "--data", releases["mimic"]["root"], "--json")
    assert code == 0 and "mimic:" in err
    stats = json.loads(out)
    assert stats["excluded_views"] == sum(i["view"] not in FRONTAL
                                          for i in releases["mimic"]["images"])
    assert {"count", "overlap", "uncertain"} <= set(stats["findings"]["Edema"])


def test_label_map_covers_every_source_label_once():
    table = map_table()
    assert not table.duplicated(["release", "source"]).any()
    assert set(table["target"]) <= {*FINDINGS, "No Finding", "none"}
    assert (table["why"].str.len() > 0).all()


def test_extra_labels_kept_as_columns_on_request(releases):
    root = releases["chexpert"]["root"]
    plain = open_dataset(root)
    assert "Support Devices" not in plain.entries
    extra = open_dataset(root, DataOptions(extra_labels=True)).entries
    rows = {r["path"].split("/", 1)[1]: r for r in releases["chexpert"]["rows"]}
    for name, value in zip(extra["Image Index"], extra["Support Devices"], strict=True):
        want = rows[name]["labels"]["Support Devices"]
        assert value == want or (want is None and np.isnan(value))
    assert sum(extra["Support Devices"] == 1) == plain.dropped["Support Devices"]


def test_vindr_test_boxes_are_the_consensus_whoever_entered_them(tmp_path):
    spec = write_vindr(tmp_path / "v")
    path = spec["root"] / "annotations" / "annotations_test.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",R1,", ",R2,")  # the second consensus box, another rad_id
    path.write_text("\n".join(lines) + "\n")
    fused = open_dataset(spec["root"], DataOptions(extra_labels=True)).boxes
    test = fused[fused["Image Index"] == f"{spec['ids']['test'][0]}.dicom"]
    assert sorted(test["Finding Label"]) == ["Effusion", "Nodule/Mass"]  # none fused away
