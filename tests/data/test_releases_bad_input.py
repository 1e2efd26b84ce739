"""Bad input in a release: one line naming the file, the rest loads, the tally printed."""

from __future__ import annotations

import gzip

import numpy as np
from release_fixtures import pattern, write_chexpert, write_mimic, write_padchest, write_vindr

from chestx.data.datasets import ReleaseDataset
from chestx.data.releases import DataOptions, open_dataset


def test_missing_image_named_and_skipped(tmp_path, run_cli):
    spec = write_mimic(tmp_path / "m")
    before = len(open_dataset(spec["root"]).entries)
    gone = next(i for i in spec["images"] if i["view"] == "PA")
    path = next(spec["root"].rglob(f"{gone['dicom']}.jpg"))
    path.unlink()
    release = open_dataset(spec["root"])
    assert len(release.entries) == before - 1
    assert [line for line in release.problems.lines if str(path) in line] == [
        f"{path}: image not found; skipped"]
    code, _, err = run_cli("stats", "--data", spec["root"])
    assert code == 0 and f"warning: {path}: image not found" in err and "1 problems" in err


def test_truncated_gzip_csv_keeps_the_rows_before_the_cut(tmp_path):
    spec = write_mimic(tmp_path / "m")
    meta = spec["root"] / "mimic-cxr-2.0.0-metadata.csv.gz"
    text = gzip.decompress(meta.read_bytes()).decode()
    whole = len(text.splitlines()) - 1
    raw = meta.read_bytes()
    meta.write_bytes(raw[: len(raw) * 2 // 3])
    release = open_dataset(spec["root"], _all_views())
    lines = [line for line in release.problems.lines if str(meta) in line]
    assert any("truncated gzip" in line for line in lines)
    assert 0 < len(release.entries) < whole


def test_truncated_plain_csv_drops_the_cut_line(tmp_path):
    spec = write_chexpert(tmp_path)
    train = spec["root"] / "train.csv"
    text = train.read_text()
    train.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])  # cut the last row
    release = open_dataset(spec["root"], _all_views())
    assert len(release.entries) == len(spec["rows"]) - 1
    assert [line.split(":")[0] for line in release.problems.lines] == [str(train)]


def test_unknown_label_named_once(tmp_path):
    spec = write_padchest(tmp_path / "p")
    csv = spec["root"] / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv"
    csv.write_text(csv.read_text().replace("'normal'", "'made up finding'", 1))
    release = open_dataset(spec["root"], _all_views())
    assert len(release.entries) == len(spec["rows"])
    unknown = [line for line in release.problems.lines if "not in the label map" in line]
    assert len(unknown) == 1 and unknown[0].startswith(str(csv))
    assert "'made up finding'" in unknown[0]


def test_images_read_monochrome1_and_16_bit(tmp_path):
    vindr = open_dataset(write_vindr(tmp_path / "v")["root"])
    dataset = ReleaseDataset(vindr)
    assert vindr.entries["Split"].tolist() == ["train", "train", "test"]
    first, _ = dataset[0]  # MONOCHROME1: stored inverted, read back bright where the disc is
    expected = pattern(64, 3000, 4095) / 4095
    assert np.corrcoef(first[0].numpy().ravel(), expected.ravel())[0, 1] > 0.99
    padchest = open_dataset(write_padchest(tmp_path / "p")["root"])
    image, labels = ReleaseDataset(padchest)[0]
    seed = int(padchest.entries["Image Index"][0].split("_")[0][-3:]) + 2000
    truth = pattern(20, seed, 65535) / 65535
    assert np.abs(image[0].numpy() - truth).max() < 1 / 255 + 1e-6
    assert labels.shape == (14,)


def _all_views() -> DataOptions:
    return DataOptions(views=("all",))
