"""False positives by rule id (chestx.reports.errors, ``chestx label-eval --errors``)."""

import csv
import json

import pytest
from test_scoring import write_pair

from chestx.errors import ChestxError
from chestx.reports.errors import error_report, format_rule_counts, rule_counts


def write_evidence(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_false_positives_carry_the_rule_behind_them(tmp_path):
    gold, pred = write_pair(
        tmp_path,
        ["Effusion", "No Finding", ""],
        [({"Effusion": 1}, 0),                     # TP: no error row
         ({"Pneumonia": 1}, 0),                    # FP pneumonia; Normal missed (FN)
         ({"Pneumothorax": -1}, 1)],               # uncertain: no FP; FP Normal
    )
    evidence = write_evidence(tmp_path / "ev.jsonl", [
        {"report_id": "r0", "finding": "Effusion", "status": 1, "rule": "", "text": "effusion",
         "sentence": "Effusion."},
        {"report_id": "r1", "finding": "Pneumonia", "status": 1, "rule": "diff.or",
         "text": "pneumonia", "sentence": "Atelectasis or pneumonia."},
        {"report_id": "r1", "finding": "Pneumonia", "status": 0, "rule": "neg.no",
         "text": "pneumonia", "sentence": "No pneumonia."},
        {"report_id": "r2", "finding": "Pneumothorax", "status": -1, "rule": "scope.rule_out",
         "text": "pneumothorax", "sentence": "r/o pneumothorax"},
    ])
    rows = error_report(gold, pred, evidence)
    fps = [(r["finding"], r["rule"], r["report_id"]) for r in rows if r["kind"] == "fp"]
    assert sorted(fps) == [("Normal", "(none)", "r2"), ("Pneumonia", "diff.or", "r1")]
    fns = [(r["finding"], r["rule"], r["report_id"]) for r in rows if r["kind"] == "fn"]
    assert fns == [("Normal", "diff.or", "r1")]  # the positive mention that made r1 abnormal
    assert rule_counts(rows)[("Pneumonia", "diff.or")] == 1
    assert "diff.or" in format_rule_counts(rows)
    counted = error_report(gold, pred, evidence, uncertain_positive=True)
    assert ("Pneumothorax", "scope.rule_out", "r2") in [
        (r["finding"], r["rule"], r["report_id"]) for r in counted if r["kind"] == "fp"]


def test_without_evidence_the_gold_text_is_labeled_again(tmp_path, labeler):
    _, pred = write_pair(tmp_path, ["Atelectasis"], [({"Atelectasis": 1, "Pneumonia": 1}, 0)])
    gold = tmp_path / "gold_text.csv"
    gold.write_text("report_id,text,gold\nr0,IMPRESSION: Atelectasis or pneumonia.,"
                    "Atelectasis\n")
    rows = error_report(gold, pred, coding="openi")
    assert [(r["finding"], r["rule"]) for r in rows if r["kind"] == "fp"] == [
        ("Pneumonia", "diff.or")]
    (tmp_path / "bare.csv").write_text("report_id,gold\nr0,Atelectasis\n")
    with pytest.raises(ChestxError, match="--evidence"):
        error_report(tmp_path / "bare.csv", pred)


def test_label_eval_cli_writes_errors(tmp_path, run_cli):
    gold, pred = write_pair(tmp_path, ["Effusion", "No Finding"],
                            [({"Effusion": 1}, 0), ({"Mass": 1}, 0)])
    evidence = write_evidence(tmp_path / "ev.jsonl", [
        {"report_id": "r1", "finding": "Mass", "status": 1, "rule": "", "term": "",
         "text": "mass", "sentence": "Mass effect."}])
    out_csv = tmp_path / "errors.csv"
    code, out, _ = run_cli("label-eval", gold, pred, "--evidence", evidence,
                           "--errors", out_csv)
    assert code == 0 and "False positives by rule id" in out
    with open(out_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["kind"] == "fp" and rows[0]["finding"] == "Mass"
    assert rows[0]["rule"] == "(none)" and rows[0]["sentence"] == "Mass effect."
