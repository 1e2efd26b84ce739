"""chestx synth / split / stats: outputs and one-line errors with exit status 2."""

from __future__ import annotations

import gzip
import json

from chestx.data.nih import read_data_entry, read_split_list


def test_synth_command(run_cli, tmp_path):
    code, out, _ = run_cli("synth", tmp_path / "d", "--n", "12", "--size", "32", "--seed", "2")
    assert code == 0 and str(tmp_path / "d") in out
    assert len(read_data_entry(tmp_path / "d")) == 12
    assert len(list((tmp_path / "d" / "images").glob("*.png"))) == 12


def test_split_command_random_and_official(run_cli, synth_dir, tmp_path):
    code, out, _ = run_cli("split", "--data", synth_dir, "--out", tmp_path / "r",
                           "--seed", "1", "--ratios", "0.6,0.2,0.2")
    assert code == 0 and "train" in out
    parts = {p: read_split_list(tmp_path / "r" / f"{p}.txt") for p in ("train", "val", "test")}
    assert sum(len(v) for v in parts.values()) == 40
    assert abs(len(parts["train"]) / 40 - 0.6) <= 0.05
    code, _, _ = run_cli("split", "--data", synth_dir, "--out", tmp_path / "o", "--official")
    assert code == 0
    assert read_split_list(tmp_path / "o" / "test.txt") == read_split_list(
        synth_dir / "test_list.txt")


def test_split_works_from_the_csv_alone(run_cli, nih_folder, tmp_path):
    only_csv = tmp_path / "csv_only"
    only_csv.mkdir()
    (only_csv / "Data_Entry_2017.csv").write_bytes(
        (nih_folder / "Data_Entry_2017.csv").read_bytes())
    code, out, err = run_cli("split", "--data", only_csv, "--out", only_csv / "split")
    assert code == 0, err
    assert (only_csv / "split" / "test.txt").is_file()


def test_stats_json_table_and_plot(run_cli, nih_folder, tmp_path):
    code, out, _ = run_cli("stats", "--data", nih_folder, "--json", "--plot", tmp_path / "p.png")
    assert code == 0
    stats = json.loads(out)
    assert set(stats) == {"images", "patients", "no_finding", "findings", "excluded_views"}
    assert stats["images"] == 5 and stats["excluded_views"] == 0
    assert stats["findings"]["Infiltration"] == {"count": 2, "overlap": 2, "uncertain": 0}
    assert (tmp_path / "p.png").stat().st_size > 1000
    code, out, _ = run_cli("stats", "--data", nih_folder)
    assert code == 0 and "Cardiomegaly" in out and "Patients" in out


def test_stats_reads_csv_gz_folder(run_cli, nih_folder, tmp_path):
    folder = tmp_path / "gz"
    folder.mkdir()
    with gzip.open(folder / "Data_Entry_2017.csv.gz", "wb") as handle:
        handle.write((nih_folder / "Data_Entry_2017.csv").read_bytes())
    code, out, _ = run_cli("stats", "--data", folder, "--json")
    assert code == 0 and json.loads(out)["patients"] == 3


def test_bad_input_is_one_line_exit_2(run_cli, tmp_path, nih_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (("stats", "--data", tmp_path / "missing"), "missing: dataset folder not found"),
        (("split", "--data", empty, "--out", tmp_path / "o"), "Data_Entry_2017.csv: not found"),
        (("split", "--data", nih_folder, "--out", tmp_path / "o", "--ratios", "1,2"), "--ratios"),
    ]
    for args, message in cases:
        code, out, err = run_cli(*args)
        assert code == 2 and message in err, (args, err)
        assert err.strip().count("\n") == 0 and err.startswith("error: ")
    (nih_folder / "test_list.txt").unlink()
    code, _, err = run_cli("split", "--data", nih_folder, "--out", tmp_path / "o", "--official")
    assert code == 2 and "test_list.txt: split list not found" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    code, _, err = run_cli("synth", tmp_path / "full", "--n", "5", "--size", "32")
    assert code == 2 and "not empty" in err
