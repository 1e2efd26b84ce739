import json

import pandas as pd
import pytest

from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.reports.scoring import Score, evaluate_files, micro


def test_score_by_hand():
    s = Score(tp=3, fp=1, fn=2)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.6)
    assert s.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert Score(0, 0, 0).f1 == 0.0
    assert micro([Score(1, 0, 1), Score(2, 2, 0)]) == Score(3, 2, 1)


def write_pair(tmp_path, gold_cells, pred_rows):
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"report_id": [f"r{i}" for i in range(len(gold_cells))], "text": "t",
                  "gold": gold_cells}).to_csv(gold, index=False)
    pred = tmp_path / "pred.csv"
    rows = []
    for i, (cells, normal) in enumerate(pred_rows):
        row = {"report_id": f"r{i}", **dict.fromkeys(FINDINGS, ""), "Normal": normal}
        row.update(cells)
        rows.append(row)
    pd.DataFrame(rows).to_csv(pred, index=False)
    return gold, pred


def test_evaluate_files_counts(tmp_path):
    gold, pred = write_pair(
        tmp_path,
        ["Effusion|Mass", "No Finding", "", "Effusion"],
        [({"Effusion": 1, "Mass": 0}, 0),        # TP effusion, FN mass
         ({}, 1),                                 # TP normal
         ({"Effusion": 1}, 1),                    # FP effusion, FP normal
         ({"Effusion": -1}, 0)],                  # uncertain: FN (or TP when positive)
    )
    result = evaluate_files(gold, pred)
    eff = result["per_finding"]["Effusion"]
    assert (eff["tp"], eff["fp"], eff["fn"]) == (1, 1, 1)
    normal = result["per_finding"]["Normal"]
    assert (normal["tp"], normal["fp"], normal["fn"]) == (1, 1, 0)
    t2 = result["table2_micro"]  # effusion + mass + normal
    assert (t2["tp"], t2["fp"], t2["fn"]) == (2, 2, 2)
    t18 = result["table18_micro"]
    assert (t18["tp"], t18["fp"], t18["fn"]) == (1, 1, 2)
    as_positive = evaluate_files(gold, pred, uncertain_positive=True)
    assert as_positive["per_finding"]["Effusion"]["tp"] == 2


def test_missing_prediction_and_columns(tmp_path):
    gold, pred = write_pair(tmp_path, ["Effusion", "Mass"], [({}, 1)])
    with pytest.raises(ChestxError, match="no prediction"):
        evaluate_files(gold, pred)
    bad = tmp_path / "bad.csv"
    bad.write_text("report_id,Effusion\nr0,1\n")
    with pytest.raises(ChestxError, match="missing column"):
        evaluate_files(gold, bad)


def test_label_eval_cli(tmp_path, run_cli):
    gold, pred = write_pair(tmp_path, ["Effusion", "No Finding"], [({"Effusion": 1}, 0),
                                                                  ({}, 1)])
    code, out, _ = run_cli("label-eval", gold, pred)
    assert code == 0
    assert "Table 2 layout" in out and "Table 18 layout" in out
    assert "Effusion" in out and "1.00 / 1.00 / 1.00" in out
    code, out, _ = run_cli("label-eval", gold, pred, "--json")
    assert code == 0 and json.loads(out)["table2_micro"]["f1"] == 1.0
    code, _, err = run_cli("label-eval", tmp_path / "nope.csv", pred)
    assert code == 2 and "no such file" in err
