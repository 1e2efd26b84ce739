"""Label evaluation: per-finding precision / recall / F1 and micro totals against a gold CSV.

Layouts of the paper: Table 2 (the 8 findings + Normal) and Table 18 (the 14 findings).
Gold: a CSV with ``report_id`` and ``gold`` (findings joined by ``|``; ``No Finding`` means
Normal; empty means other findings only), as ``openi_dev.csv``. Predictions: the CSV written
by ``chestx label`` (``report_id``, the 14 finding columns with 1/0/-1/blank, ``Normal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chestx.errors import ChestxError
from chestx.findings import FINDINGS, NO_FINDING, PAPER_8, split_labels

NORMAL = "Normal"
FINDINGS_AND_NORMAL = (*FINDINGS, NORMAL)


@dataclass(frozen=True)
class Score:
    """Counts and scores of one finding (or of a micro total)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def as_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "support": self.support}


def score(gold: list[bool], pred: list[bool]) -> Score:
    """Counts for two equally long boolean sequences."""
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    return Score(tp, fp, fn)


def micro(scores: list[Score]) -> Score:
    """Micro total: counts summed over findings."""
    return Score(sum(s.tp for s in scores), sum(s.fp for s in scores), sum(s.fn for s in scores))


def gold_table(gold: pd.DataFrame) -> pd.DataFrame:
    """Boolean table (report_id index; 14 findings + Normal) from a ``gold`` column."""
    rows = {}
    for rid, cell in zip(gold["report_id"], gold["gold"], strict=True):
        cell = cell if isinstance(cell, str) else ""
        try:
            names = set(split_labels(cell))
        except KeyError as exc:
            raise ChestxError(f"gold label of {rid}: {exc}") from exc
        row = {f: f in names for f in FINDINGS}
        row[NORMAL] = cell.strip() == NO_FINDING
        rows[str(rid)] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def pred_table(pred: pd.DataFrame, uncertain_positive: bool = False) -> pd.DataFrame:
    """Boolean table (report_id index; 14 findings + Normal) from ``chestx label`` output."""
    positive = {1.0, -1.0} if uncertain_positive else {1.0}
    table = pd.DataFrame(index=pred["report_id"].astype(str))
    for col in (*FINDINGS, NORMAL):
        values = pd.to_numeric(pred[col], errors="coerce").to_numpy()
        wanted = positive if col != NORMAL else {1.0}
        table[col] = [v in wanted for v in values]
    return table


def evaluate_tables(gold: pd.DataFrame, pred: pd.DataFrame) -> dict:
    """Scores of ``pred`` against ``gold`` (boolean tables sharing the report_id index)."""
    missing = gold.index.difference(pred.index)
    if len(missing):
        raise ChestxError(f"{len(missing)} gold reports have no prediction "
                          f"(first: {missing[0]})")
    pred = pred.loc[gold.index]
    per = {c: score(list(gold[c]), list(pred[c])) for c in (*FINDINGS, NORMAL)}
    table2 = [*PAPER_8, NORMAL]
    return {
        "reports": len(gold),
        "per_finding": {c: s.as_dict() for c, s in per.items()},
        "table2_micro": micro([per[c] for c in table2]).as_dict(),
        "table18_micro": micro([per[c] for c in FINDINGS]).as_dict(),
    }


def read_csv(path: str | Path, needed: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ChestxError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ChestxError(f"{path}: cannot read CSV ({str(exc).splitlines()[0]})") from exc
    lacking = [c for c in needed if c not in frame.columns]
    if lacking:
        raise ChestxError(f"{path}: missing column(s) {', '.join(lacking)}")
    return frame


def evaluate_files(gold_csv: str | Path, pred_csv: str | Path,
                   uncertain_positive: bool = False) -> dict:
    """Read the two CSVs and score them (see :func:`evaluate_tables`)."""
    gold = read_csv(gold_csv, ("report_id", "gold"))
    pred = read_csv(pred_csv, ("report_id", *FINDINGS, NORMAL))
    result = evaluate_tables(gold_table(gold), pred_table(pred, uncertain_positive))
    result["uncertain_as"] = "positive" if uncertain_positive else "negative"
    return result


def format_tables(result: dict) -> str:
    """Both tables in the paper's layout: ``Disease  P / R / F1`` plus the gold count."""
    lines = []
    for title, names, total in (
        ("Table 2 layout: 8 findings + Normal", [*PAPER_8, NORMAL], "table2_micro"),
        ("Table 18 layout: 14 findings", list(FINDINGS), "table18_micro"),
    ):
        lines += [title, f"{'Disease':<20} {'P / R / F1':>20} {'gold n':>7} {'FP':>5}"]
        for name in sorted(names, key=lambda n: (n == NORMAL, n)):
            lines.append(_row(name, result["per_finding"][name]))
        lines += [_row("Total (micro)", result[total]), ""]
    lines.append(f"micro F1: Table 2 layout {result['table2_micro']['f1']:.3f} (precision "
                 f"{result['table2_micro']['precision']:.3f}), Table 18 layout "
                 f"{result['table18_micro']['f1']:.3f} (precision "
                 f"{result['table18_micro']['precision']:.3f})")
    lines.append(f"{result['reports']} reports; uncertain (-1) counted as "
                 f"{result.get('uncertain_as', 'negative')}")
    return "\n".join(lines)


def _row(name: str, s: dict) -> str:
    prf = f"{s['precision']:.2f} / {s['recall']:.2f} / {s['f1']:.2f}"
    return f"{name:<20} {prf:>20} {s['support']:>7} {s['fp']:>5}"
