"""``chestx ingest`` end to end on small DICOM folders built with pydicom in tmp_path."""

from __future__ import annotations

import csv
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import chestx.synth.dicoms as samples
from chestx.data.datasets import NIHDataset
from chestx.database import candidates
from chestx.database.ingest import ingest
from chestx.database.numbering import age_years
from chestx.database.views import view_of

NIH_HEADER = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
              "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]")

write_dicom = samples.write_dicom


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def window8(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 linear window to [0, 255], by hand."""
    x = np.asarray(x, dtype=np.float64)
    c, w = center - 0.5, width - 1.0
    y = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 255.0, ((x - c) / w + 0.5) * 255))
    return np.rint(y).astype(np.uint8)


def png(out: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(out / "images" / name))


@pytest.fixture
def mixed(tmp_path):
    """A folder like a PACS export: 2 patients (files sorted against time), 4 frontal images
    64x64 and 1 non-square one, a lateral, a truncated file, a non-DICOM, no pixels."""
    root = tmp_path / "pacs"
    rng = np.random.default_rng(1)
    stored = {k: rng.integers(0, 4096, (64, 64)).astype(np.uint16) for k in "abcd"}
    common = dict(bits_stored=12, window=(2048, 2000), spacing=(0.2, 0.1))
    # patient ZED: studies in 2019 (first of everybody) and 2021; file names sort reversed
    write_dicom(root / "zed" / "a2021", stored["a"], patient_id="ZED", study_date="20210101",
                accession="Z2", patient_age="070Y", sex="F", **common)
    write_dicom(root / "zed" / "b2019.dcm", stored["b"], patient_id="ZED",
                study_date="20190101", accession="Z1", patient_age="068Y", sex="F",
                photometric="MONOCHROME1", syntax="rle", **common)
    # patient AMY: one study in 2020, two frontal images (instance order) + lateral
    write_dicom(root / "amy" / "1.dcm", stored["c"], patient_id="AMY", study_date="20200101",
                accession="A1", patient_age="", birth_date="19800615", view="AP",
                extra={"InstanceNumber": 2, "StudyInstanceUID": "1.2.3.4"}, **common)
    write_dicom(root / "amy" / "2.dcm", stored["d"], patient_id="AMY", study_date="20200101",
                accession="A1", view=None, extra={"SeriesDescription": "THORAX_PA",
                                                  "InstanceNumber": 1,
                                                  "StudyInstanceUID": "1.2.3.4"}, **common)
    write_dicom(root / "amy" / "lat.dcm", stored["d"], patient_id="AMY", view="LL",
                study_date="20200101", **common)
    wide = rng.integers(0, 4096, (48, 80)).astype(np.uint16)
    write_dicom(root / "bob" / "w.dcm", wide, patient_id="BOB", study_date="20220101",
                **common)
    truncated = write_dicom(root / "bad" / "trunc.dcm", stored["a"], **common)
    truncated.write_bytes(truncated.read_bytes()[:-2000])
    (root / "bad" / "notes.txt").write_text("not an image\n")
    nopix = write_dicom(root / "bad" / "nopix.dcm", stored["a"], **common)
    nopix.write_bytes(nopix.read_bytes()[: nopix.read_bytes().index(b"\xe0\x7f\x10\x00")])
    return root, stored, wide


def test_mixed_folder_end_to_end(mixed, tmp_path, run_cli):
    root, stored, wide = mixed
    out = tmp_path / "data"
    code, stdout, stderr = run_cli("ingest", root, "--out", out, "--size", 64, "-q")
    assert code == 0, stderr
    assert "5 images added" in stdout
    assert (out / "Data_Entry_2017.csv").read_text().splitlines()[0] == NIH_HEADER
    entries = {r["Image Index"]: r for r in rows(out / "Data_Entry_2017.csv")}
    ids = {r["Image Index"]: r for r in rows(out / "id_map.csv")}
    by_source = {Path(r["Source"]).relative_to(root.resolve()).as_posix(): i
                 for i, r in ids.items()}
    # ZED's 2019 study is the first of everybody -> patient 1; AMY 2; BOB 3
    assert by_source == {"zed/b2019.dcm": "00000001_000.png", "zed/a2021": "00000001_001.png",
                         "amy/2.dcm": "00000002_000.png", "amy/1.dcm": "00000002_001.png",
                         "bob/w.dcm": "00000003_000.png"}
    # pixels: no resize at 64x64, so exactly the hand-computed window (MONOCHROME1 inverted)
    np.testing.assert_array_equal(png(out, "00000001_001.png"), window8(stored["a"], 2048, 2000))
    np.testing.assert_array_equal(png(out, "00000001_000.png"),
                                  255 - window8(stored["b"], 2048, 2000))
    assert png(out, "00000003_000.png").shape == (64, 64)  # 80x48 resized to the square
    # metadata
    zed = entries["00000001_000.png"]
    assert (zed["Follow-up #"], zed["Patient ID"], zed["Patient Age"], zed["Patient Gender"],
            zed["View Position"]) == ("0", "1", "68", "F", "PA")
    assert (zed["OriginalImage[Width"], zed["Height]"]) == ("64", "64")
    assert (zed["OriginalImagePixelSpacing[x"], zed["y]"]) == ("0.1", "0.2")
    assert entries["00000002_001.png"]["Patient Age"] == "39"  # 1980-06-15 -> 2020-01-01
    assert entries["00000002_001.png"]["View Position"] == "AP"
    assert entries["00000002_000.png"]["View Position"] == "PA"  # from SeriesDescription
    assert (entries["00000003_000.png"]["OriginalImage[Width"],
            entries["00000003_000.png"]["Height]"]) == ("80", "48")
    assert ids["00000001_000.png"]["PatientID"] == "ZED"
    assert ids["00000001_000.png"]["AccessionNumber"] == "Z1"
    assert "ZED" not in (out / "Data_Entry_2017.csv").read_text()  # identifiers stay private
    # every other file is listed with its reason; nothing is lost
    errors = {Path(r["path"]).relative_to(root.resolve()).as_posix(): r["reason"]
              for r in rows(out / "ingest_errors.csv")}
    assert set(errors) == {"amy/lat.dcm", "bad/trunc.dcm", "bad/notes.txt", "bad/nopix.dcm"}
    assert "not a frontal view" in errors["amy/lat.dcm"]
    assert "truncated" in errors["bad/trunc.dcm"]
    assert errors["bad/notes.txt"] == "not a DICOM file"
    assert errors["bad/nopix.dcm"] == "no pixel data"
    all_files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert all_files == set(errors) | set(by_source)
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(entries)
    assert not (out / ".ingest_staging").exists()
    unlabeled = [r["Image Index"] for r in rows(out / "ingest_unlabeled.csv")]
    assert unlabeled == sorted(entries)  # no reports given

    # a second run adds nothing and changes nothing
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    code, stdout, _ = run_cli("ingest", root, "--out", out, "--size", 64, "-q")
    assert code == 0 and "0 images added, 5 already there, 5 in total" in stdout
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_rerun_with_new_files_never_renumbers(mixed, tmp_path):
    root, stored, _ = mixed
    out = tmp_path / "data"
    ingest(root, out, size=64, progress=False)
    first = {r["Image Index"]: r for r in rows(out / "id_map.csv")}
    pixels = {name: png(out, name) for name in first}
    # new: an OLDER study of ZED (still appended after ZED's last follow-up), a new patient
    # whose study predates everybody (still numbered after the existing patients)
    write_dicom(root / "zed" / "c2018.dcm", stored["c"], patient_id="ZED",
                study_date="20180101", bits_stored=12, window=(2048, 2000))
    write_dicom(root / "new" / "n.dcm", stored["d"], patient_id="NEW", study_date="20000101",
                bits_stored=12, window=(2048, 2000))
    shutil.copy(root / "bob" / "w.dcm", root / "bob" / "copy_of_w.dcm")  # same SOP UID
    summary = ingest(root, out, size=64, progress=False)
    assert (summary.added, summary.already) == (2, 6)
    second = {r["Image Index"]: r for r in rows(out / "id_map.csv")}
    assert {i: second[i] for i in first} == first
    assert {name: png(out, name) for name in first}.keys() == pixels.keys()
    for name, array in pixels.items():
        np.testing.assert_array_equal(png(out, name), array)
    new = {Path(second[i]["Source"]).name: i for i in set(second) - set(first)}
    assert new == {"c2018.dcm": "00000001_002.png", "n.dcm": "00000004_000.png"}
    errors = {Path(r["path"]).name: r["reason"] for r in rows(out / "ingest_errors.csv")}
    assert errors["copy_of_w.dcm"].startswith("already ingested as 00000003_000.png")
    assert len(rows(out / "Data_Entry_2017.csv")) == 7


def test_duplicate_sop_in_one_run_is_listed(tmp_path):
    root = tmp_path / "in"
    path = write_dicom(root / "a.dcm", np.zeros((16, 16), np.uint16), window=(1, 2))
    shutil.copy(path, root / "b.dcm")
    summary = ingest(root, tmp_path / "out", size=16, progress=False)
    assert summary.added == 1
    errors = rows(tmp_path / "out" / "ingest_errors.csv")
    assert [Path(r["path"]).name for r in errors] == ["b.dcm"]
    assert errors[0]["reason"].startswith("duplicate of") and "a.dcm" in errors[0]["reason"]


def test_interrupted_run_resumes_without_decoding_twice(mixed, tmp_path, monkeypatch):
    root, _, _ = mixed
    out = tmp_path / "data"
    decoded = []
    real = candidates.to_gray8

    def counting(ds, path):
        if len(decoded) == 2:
            raise KeyboardInterrupt
        decoded.append(path)
        return real(ds, path)

    monkeypatch.setattr(candidates, "to_gray8", counting)
    with pytest.raises(KeyboardInterrupt):
        ingest(root, out, size=64, progress=False)
    assert len(list((out / ".ingest_staging").glob("*.png"))) == 2
    assert not (out / "Data_Entry_2017.csv").exists()
    first_two = list(decoded)
    decoded.clear()
    monkeypatch.setattr(candidates, "to_gray8",
                        lambda ds, path: (decoded.append(path), real(ds, path))[1])
    summary = ingest(root, out, size=64, progress=False)
    assert summary.added == 5
    assert not set(first_two) & set(decoded)  # staged images were not decoded again
    fresh = tmp_path / "fresh"
    ingest(root, fresh, size=64, progress=False)
    for name in (p.name for p in (fresh / "images").iterdir()):
        np.testing.assert_array_equal(png(out, name), png(fresh, name))


def test_two_workers_give_the_same_dataset(mixed, tmp_path):
    root, _, _ = mixed
    ingest(root, tmp_path / "one", size=32, workers=1, progress=False)
    ingest(root, tmp_path / "two", size=32, workers=2, progress=False)
    for name in ("Data_Entry_2017.csv", "id_map.csv", "ingest_errors.csv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()
    for path in (tmp_path / "one" / "images").iterdir():
        assert path.read_bytes() == (tmp_path / "two" / "images" / path.name).read_bytes()


class FakeLabels:
    def __init__(self, text: str):
        self.finding_labels = "Effusion" if "effusion" in text.lower() else "No Finding"


@pytest.fixture
def fake_labeler(monkeypatch):
    """chestx.reports.label_reports replaced by a keyword rule; records what it labels."""
    calls: list[str] = []

    def label_reports(texts, workers=1):
        for text in texts:
            calls.append(text)
            yield FakeLabels(text)

    module = types.ModuleType("chestx.reports")
    module.label_reports = label_reports
    monkeypatch.setitem(sys.modules, "chestx.reports", module)
    return calls


def test_reports_fill_finding_labels(mixed, tmp_path, fake_labeler, run_cli):
    root, _, _ = mixed
    out = tmp_path / "data"
    reports = tmp_path / "reports.csv"
    with open(reports, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Accession", "study_uid", "text"])
        writer.writerow(["Z1", "", "Small left pleural effusion."])
        writer.writerow(["Z2", "", "Lungs are clear."])
        writer.writerow(["", "1.2.3.4", "Right effusion."])  # AMY's study, by UID
        writer.writerow(["NOPE", "", "A report of another hospital's study."])
    code, stdout, stderr = run_cli("ingest", root, "--out", out, "--size", 32,
                                   "--reports", reports, "-q")
    assert code == 0, stderr
    labels = {r["Image Index"]: r["Finding Labels"] for r in rows(out / "Data_Entry_2017.csv")}
    assert labels == {"00000001_000.png": "Effusion", "00000001_001.png": "No Finding",
                      "00000002_000.png": "Effusion", "00000002_001.png": "Effusion",
                      "00000003_000.png": ""}
    assert [r["Image Index"] for r in rows(out / "ingest_unlabeled.csv")] == ["00000003_000.png"]
    assert "1 reports match no image" in stdout
    assert len(fake_labeler) == 3  # AMY's two images share one report: labeled once
    # rerun: unchanged reports are not labeled again; a changed one is
    fake_labeler.clear()
    ingest(root, out, reports=reports, size=32, progress=False)
    assert fake_labeler == []
    text = reports.read_text().replace("Lungs are clear.", "New effusion.")
    reports.write_text(text)
    summary = ingest(root, out, reports=reports, size=32, progress=False)
    assert fake_labeler == ["New effusion."] and summary.relabeled == 1
    labels = {r["Image Index"]: r["Finding Labels"] for r in rows(out / "Data_Entry_2017.csv")}
    assert labels["00000001_001.png"] == "Effusion"


def test_real_labeler_if_available(tmp_path):
    pytest.importorskip("chestx.reports", reason="labeler (chestx.reports) not built yet")
    root = tmp_path / "in"
    write_dicom(root / "a.dcm", np.zeros((16, 16), np.uint16), accession="X1")
    reports = tmp_path / "r.csv"
    reports.write_text("accession,text\nX1,FINDINGS: Large right pleural effusion.\n")
    ingest(root, tmp_path / "out", reports=reports, size=16, progress=False)
    [entry] = rows(tmp_path / "out" / "Data_Entry_2017.csv")
    assert "Effusion" in entry["Finding Labels"].split("|")


def test_output_loads_with_the_nih_reader_and_splits(mixed, tmp_path):
    nih = pytest.importorskip("chestx.data.nih")
    root, stored, _ = mixed
    out = tmp_path / "data"
    ingest(root, out, size=64, progress=False)
    frame = nih.read_data_entry(out)
    assert frame["Patient ID"].tolist() == [1, 1, 2, 2, 3]
    assert frame["Patient Age"].tolist()[:2] == [68, 70]
    dataset = NIHDataset(out, image_size=32)
    assert len(dataset) == 5 and dataset.image_ids[0] == "00000001_000.png"
    image, labels = dataset[1]
    assert tuple(image.shape) == (1, 32, 32) and labels.shape == (14,)
    splits = pytest.importorskip("chestx.data.splits")
    parts = splits.make_split(frame, mode="random", seed=0)
    assert sorted(sum(parts.values(), [])) == sorted(frame["Image Index"])


def test_unknown_views_policy_and_non_chest(tmp_path):
    root = tmp_path / "in"
    write_dicom(root / "u.dcm", np.zeros((8, 8), np.uint16), view=None)
    write_dicom(root / "hand.dcm", np.zeros((8, 8), np.uint16),
                extra={"BodyPartExamined": "HAND"})
    write_dicom(root / "ct.dcm", np.zeros((8, 8), np.uint16), modality="CT")
    summary = ingest(root, tmp_path / "skip", size=8, progress=False)
    reasons = {Path(r["path"]).name: r["reason"]
               for r in rows(tmp_path / "skip" / "ingest_errors.csv")}
    assert summary.added == 0 and reasons["u.dcm"].startswith("view unknown")
    assert "not a chest" in reasons["hand.dcm"] and "not a radiograph" in reasons["ct.dcm"]
    summary = ingest(root, tmp_path / "keep", size=8, unknown_views="keep", progress=False)
    [entry] = rows(tmp_path / "keep" / "Data_Entry_2017.csv")
    assert summary.added == 1 and entry["View Position"] == ""


@pytest.mark.parametrize(("header", "view"), [
    ({"ViewPosition": "PA"}, "PA"),
    ({"ViewPosition": "ap "}, "AP"),
    ({"ViewPosition": "LL"}, "LATERAL"),
    ({"ViewPosition": "RLD"}, "OTHER"),
    ({"ViewPosition": "", "SeriesDescription": "Chest_PA"}, "PA"),
    ({"SeriesDescription": "CHEST PORTABLE"}, "AP"),
    ({"ProtocolName": "Thorax lateral"}, "LATERAL"),
    ({"ViewCodeMeaning": "postero-anterior"}, "PA"),
    ({"SeriesDescription": "PA AND LAT", "ProtocolName": "CHEST LAT"}, "LATERAL"),
    ({"StudyDescription": "XR CHEST 2 VIEWS PA AND LATERAL"}, ""),
    ({"SeriesDescription": "PAIN CAPTURE"}, ""),  # "PA" only as a whole word
    ({"ViewPosition": "XYZ"}, ""),  # unrecognised: the unknown-view policy decides
])
def test_view_heuristic(header, view):
    assert view_of(header)[0] == view


@pytest.mark.parametrize(("header", "age"), [
    ({"PatientAge": "058Y"}, "58"),
    ({"PatientAge": "018M"}, "1"),
    ({"PatientAge": "", "PatientBirthDate": "19500301", "StudyDate": "20200228"}, "69"),
    ({"PatientAge": "", "PatientBirthDate": "19500301", "StudyDate": "20200301"}, "70"),
    ({"PatientAge": "bad", "PatientBirthDate": "", "StudyDate": "20200301"}, ""),
])
def test_age_years(header, age):
    assert age_years(header) == age


def test_bad_arguments_are_one_line_errors(tmp_path, run_cli):
    code, _, err = run_cli("ingest", tmp_path / "nope", "--out", tmp_path / "o")
    assert code == 2 and err.strip() == f"error: {tmp_path / 'nope'}: DICOM folder not found"
    (tmp_path / "in").mkdir()
    bad = tmp_path / "r.csv"
    bad.write_text("id,body\n1,x\n")
    code, _, err = run_cli("ingest", tmp_path / "in", "--out", tmp_path / "o", "--reports", bad)
    assert code == 2 and "needs a 'text' column" in err and err.count("\n") == 1
    nih_like = tmp_path / "nih"
    nih_like.mkdir()
    (nih_like / "Data_Entry_2017.csv").write_text(NIH_HEADER + "\n")
    code, _, err = run_cli("ingest", tmp_path / "in", "--out", nih_like)
    assert code == 2 and "id_map.csv" in err


def test_sample_script_folder(tmp_path):
    kinds = samples.make_sample_folder(tmp_path / "s", patients=3, size=48)
    summary = ingest(tmp_path / "s" / "dicom", tmp_path / "out", size=32, progress=False)
    assert summary.added == len(kinds["frontal"])
    assert summary.errors == len(kinds["lateral"]) + len(kinds["broken"])


def test_out_folder_inside_the_dicom_folder_is_not_walked(tmp_path):
    root = tmp_path / "in"
    write_dicom(root / "a.dcm", np.zeros((16, 16), np.uint16), window=(1, 2))
    first = ingest(root, root / "dataset", size=16, progress=False)
    second = ingest(root, root / "dataset", size=16, progress=False)
    assert (first.scanned, first.added, first.errors) == (1, 1, 0)
    assert (second.scanned, second.added, second.already, second.errors) == (1, 0, 1, 0)


def test_unknown_age_and_spacing_are_empty_and_read_as_unknown(tmp_path):
    nih = pytest.importorskip("chestx.data.nih")
    root = tmp_path / "in"
    write_dicom(root / "a.dcm", np.zeros((16, 16), np.uint16), patient_age="", spacing=None)
    write_dicom(root / "b.dcm", np.zeros((16, 16), np.uint16), patient_id="P2",
                patient_age="045Y", spacing=(0.2, 0.1))
    ingest(root, tmp_path / "out", size=16, progress=False)
    entries = rows(tmp_path / "out" / "Data_Entry_2017.csv")
    cells = {e["Patient Age"]: [e[k] for k in ("OriginalImagePixelSpacing[x", "y]")]
             for e in entries}
    assert cells == {"": ["", ""], "45": ["0.1", "0.2"]}
    frame = nih.read_data_entry(tmp_path / "out").set_index("Patient Age")
    assert sorted(frame.index) == [-1, 45]
    assert frame.loc[-1, ["OriginalImagePixelSpacing[x", "y]"]].isna().all()
    assert frame.loc[45, ["OriginalImagePixelSpacing[x", "y]"]].tolist() == [0.1, 0.2]
    assert (frame.loc[-1, "OriginalImage[Width"], frame.loc[-1, "Height]"]) == (16, 16)


def test_official_split_lists_are_patient_wise_and_stable(tmp_path):
    root = tmp_path / "in"
    for p in range(30):
        write_dicom(root / f"{p}.dcm", np.zeros((8, 8), np.uint16), patient_id=f"P{p:02d}",
                    study_date=f"2020{1 + p % 12:02d}{1 + p:02d}")
        write_dicom(root / f"{p}b.dcm", np.zeros((8, 8), np.uint16), patient_id=f"P{p:02d}",
                    study_date="20230101")
    out = tmp_path / "out"
    ingest(root, out, size=8, progress=False)
    test = (out / "test_list.txt").read_text().split("\n")
    train_val = (out / "train_val_list.txt").read_text().split("\n")
    assert sorted(test + train_val) == sorted(r["Image Index"]
                                              for r in rows(out / "Data_Entry_2017.csv"))
    assert not {t[:8] for t in test} & {t[:8] for t in train_val}  # patient-wise
    assert 2 <= len({t[:8] for t in test}) <= 12  # ~20% of 30 patients
    write_dicom(root / "new.dcm", np.zeros((8, 8), np.uint16), patient_id="P99")
    ingest(root, out, size=8, progress=False)
    test_after = (out / "test_list.txt").read_text().split("\n")
    assert set(test) <= set(test_after)  # nothing moves when images are added
    nih = pytest.importorskip("chestx.data.nih")
    assert nih.read_split_list(out / "test_list.txt") == test_after
    splits = pytest.importorskip("chestx.data.splits")
    parts = splits.make_split(nih.read_data_entry(out), mode="official", root=out)
    assert sorted(parts["test"]) == sorted(test_after)


def test_ingested_folder_trains_and_evaluates_unchanged(tmp_path, run_cli):
    samples.make_sample_folder(tmp_path / "s", patients=6, size=48)
    code, _, err = run_cli("ingest", tmp_path / "s" / "dicom", "--out", tmp_path / "data",
                           "--reports", tmp_path / "s" / "reports.csv", "--size", "32", "-q")
    assert code == 0, err
    # the default split (official: the lists ingest wrote) and nothing else NIH-specific
    code, out, err = run_cli("train", "--data", tmp_path / "data", "--out", tmp_path / "run",
                             "--backbone", "resnet18", "--no-pretrained", "--image-size", "32",
                             "--epochs", "1", "--batch-size", "4", "--iter-size", "1",
                             "--workers", "0", "-q")
    assert code == 0, err
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "run" / "best.pt",
                             "--data", tmp_path / "data", "--out", tmp_path / "eval",
                             "--workers", "0", "-q")
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "eval" / "predictions.csv")
    test_ids = (tmp_path / "data" / "test_list.txt").read_text().split()
    assert sorted(predictions["Image Index"]) == sorted(test_ids)


def test_sr_reports_label_their_studies_and_csv_still_wins(tmp_path, fake_labeler, run_cli):
    root = tmp_path / "in"
    image = np.zeros((16, 16), np.uint16)
    image[0, 0] = 4095
    write_dicom(root / "a" / "img.dcm", image, patient_id="A", study_uid="1.9.1",
                accession="ACC1", study_date="20200101")
    write_dicom(root / "b" / "img.dcm", image, patient_id="B", study_uid="1.9.2",
                accession="ACC2", study_date="20200102")
    write_dicom(root / "c" / "img.dcm", image, patient_id="C", study_uid="1.9.3",
                study_date="20200103")  # a study with a PDF report only
    samples.write_sr(root / "a" / "sr.dcm", {"Findings": "Large right pleural effusion.",
                                              "Impression": "Effusion."},
                     patient_id="A", study_uid="1.9.1", kind="comprehensive")
    samples.write_sr(root / "b" / "sr.dcm", {"Impression": "Lungs are clear."},
                     patient_id="B", study_uid="1.9.2", kind="basic", nested=False)
    samples.write_sr(root / "x" / "sr.dcm", {"Impression": "Other study."},
                     patient_id="X", study_uid="1.9.99", kind="enhanced")
    pdf = samples.write_pdf_report(root / "c" / "report.dcm", patient_id="C",
                                   study_uid="1.9.3")
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("ingest", root, "--out", out, "--size", 16, "-q")
    assert code == 0, stderr
    labels = {r["Image Index"]: r["Finding Labels"] for r in rows(out / "Data_Entry_2017.csv")}
    assert labels == {"00000001_000.png": "Effusion", "00000002_000.png": "No Finding",
                      "00000003_000.png": ""}
    # the section headings of the content tree stay headers of the text the labeler reads
    assert sorted(fake_labeler) == ["FINDINGS:\nLarge right pleural effusion.\nIMPRESSION:\n"
                                    "Effusion.", "IMPRESSION: Lungs are clear."]
    assert "2 images labeled from 3 DICOM SR reports; 1 reports match no image" in stdout
    errors = {r["path"]: r["reason"] for r in rows(out / "ingest_errors.csv")}
    assert errors[str(pdf.resolve())].startswith("encapsulated PDF report, not read")
    assert not any(p.endswith("sr.dcm") for p in errors)
    # --reports CSV wins over the SR text
    reports = tmp_path / "r.csv"
    reports.write_text("study_uid,text\n1.9.2,Small effusion.\n")
    ingest(root, out, reports=reports, size=16, progress=False)
    labels = {r["Image Index"]: r["Finding Labels"] for r in rows(out / "Data_Entry_2017.csv")}
    assert labels["00000002_000.png"] == "Effusion" and labels["00000001_000.png"] == "Effusion"


def test_non_square_is_stretched_by_default_and_padded_with_pad_square(tmp_path):
    wide = np.zeros((20, 40), np.uint8)
    wide[:, :] = 255  # all white, 2:1
    wide[0, 0] = 0
    write_dicom(tmp_path / "in" / "w.dcm", wide)
    ingest(tmp_path / "in", tmp_path / "stretch", size=40, progress=False)
    ingest(tmp_path / "in", tmp_path / "pad", size=40, pad_square=True, progress=False)
    stretched, padded = png(tmp_path / "stretch", "00000001_000.png"), \
        png(tmp_path / "pad", "00000001_000.png")
    assert stretched.shape == padded.shape == (40, 40)
    assert stretched[5:35, 5:35].min() == 255  # the white image fills the square
    # padded: the 40x20 image sits in rows 10..29, black bands above and below
    assert padded[:9].max() == 0 and padded[31:].max() == 0
    assert padded[11:29, 1:].min() == 255
    [entry] = rows(tmp_path / "pad" / "Data_Entry_2017.csv")
    assert entry["OriginalImage[Width"] == "40" and entry["Height]"] == "20"


def test_ingest_deidentify_leaves_no_identifier_in_the_dataset(tmp_path, fake_labeler,
                                                               run_cli):
    root = tmp_path / "in"
    image = np.zeros((16, 16), np.uint16)
    image[0, 0] = 4095
    for n, date in enumerate(("20200101", "20200301")):
        study = f"1.9.7.{n}"
        write_dicom(root / f"s{n}" / "img.dcm", image, patient_id="MRN5544", study_uid=study,
                    accession=f"ACC55{n}", study_date=date, birth_date="19700101",
                    extra={"PatientName": "SMITH^ANNA"})
        samples.write_sr(root / f"s{n}" / "sr.dcm", {"Impression": "Anna Smith: effusion."},
                         patient_id="MRN5544", study_uid=study, accession=f"ACC55{n}",
                         patient_name="SMITH^ANNA", birth_date="19700101")
    out = tmp_path / "DATA"
    code, stdout, stderr = run_cli("ingest", root, "--out", out, "--size", 16, "--deidentify",
                                   "-q")
    assert code == 0, stderr
    assert (tmp_path / "DATA-private" / "deid_key.sqlite").is_file()
    for path in out.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for secret in (b"MRN5544", b"ACC550", b"ACC551", b"SMITH", b"ANNA", b"Anna",
                           b"19700101", b"1.9.7.0"):
                assert secret not in blob, (secret, path)
    entries = rows(out / "Data_Entry_2017.csv")
    assert [e["Image Index"] for e in entries] == ["00000001_000.png", "00000001_001.png"]
    assert fake_labeler == ["IMPRESSION:\n[name] [name]: effusion."]  # both SRs: one text
