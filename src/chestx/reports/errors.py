"""Label errors by rule id: which rule (or vocabulary line) made each false positive.

``chestx label-eval GOLD PRED --errors FILE`` lists every false positive (and, as its
counterweight, every false negative) of the 14 findings and Normal with the evidence that
produced the cell: the rule id, the mention and its sentence. The evidence comes from the
JSON lines of ``chestx label --evidence``; without them the gold CSV's ``text`` column is
labeled again (with the coding asked for).

Rule ids: ``neg.*`` / ``unc.*`` / ``pre.*`` / ``diff.*`` (dependency rules), ``scope.*``
(lexical scope cues), ``+list`` (handed on along a list), ``sign.*`` (a vocabulary line that
names a finding by its sign), ``(none)`` (a mention no rule touched: positive).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from chestx.atomic import atomic_open
from chestx.errors import ChestxError
from chestx.findings import FINDINGS
from chestx.reports.aggregate import ReportLabels
from chestx.reports.labeler import Labeler
from chestx.reports.rules import POSITIVE, UNCERTAIN
from chestx.reports.scoring import FINDINGS_AND_NORMAL, NORMAL, gold_table, pred_table, read_csv

NO_RULE = "(none)"
COLUMNS = ("kind", "finding", "rule", "report_id", "status", "mention", "sentence")
#: evidence[(report_id, finding)] = mentions (dicts as written by ``chestx label --evidence``)
Evidence = dict[tuple[str, str], list[dict]]


def read_evidence(path: str | Path) -> Evidence:
    """Mentions of an evidence JSONL file, by ``(report_id, finding)``."""
    evidence: Evidence = {}
    path = Path(path)
    if not path.is_file():
        raise ChestxError(f"{path}: no such file")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                key = (str(row["report_id"]), row["finding"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ChestxError(f"{path}: line {number} is no evidence line ({exc})") from exc
            evidence.setdefault(key, []).append(row)
    return evidence


def evidence_of(report_ids: Iterable[str], results: Iterable[ReportLabels]) -> Evidence:
    """Evidence of freshly labeled reports (same layout as :func:`read_evidence`)."""
    evidence: Evidence = {}
    for rid, result in zip(report_ids, results, strict=True):
        for m in result.mentions:
            evidence.setdefault((str(rid), m.finding), []).append(
                {"kind": m.kind, "text": m.text, "sentence": m.sentence, "status": m.status,
                 "rule": m.rule, "term": m.term, "counts": m.counts})
    return evidence


def _rule(mention: dict) -> str:
    """The rule behind a mention's status, else the vocabulary line that named it."""
    return mention.get("rule") or mention.get("term") or NO_RULE


def error_rows(gold: pd.DataFrame, pred: pd.DataFrame, evidence: Evidence,
               uncertain_positive: bool = False) -> list[dict]:
    """One row per false positive / false negative mention.

    ``gold``, ``pred``: boolean tables (report_id index; the 14 findings and Normal) as
    :func:`chestx.reports.scoring.gold_table` / ``pred_table`` build them.

    A false positive finding lists the mentions that made it positive (status 1, or -1
    with ``uncertain_positive``); a false negative lists the mentions that were read as
    negative or uncertain (none: the vocabulary missed it). A false positive Normal lists
    the gold findings (missed); a false negative Normal lists the positive or uncertain
    mentions that made the report abnormal.
    """
    positive = {POSITIVE, UNCERTAIN} if uncertain_positive else {POSITIVE}
    pred = pred.loc[gold.index]
    rows: list[dict] = []
    for finding in FINDINGS:
        for rid in gold.index[pred[finding] & ~gold[finding]]:
            hits = [m for m in evidence.get((rid, finding), []) if m["status"] in positive]
            rows += _rows("fp", finding, rid, hits)
        for rid in gold.index[gold[finding] & ~pred[finding]]:
            hits = [m for m in evidence.get((rid, finding), []) if m["status"] not in positive]
            rows += _rows("fn", finding, rid, hits)
    for rid in gold.index[pred[NORMAL] & ~gold[NORMAL]]:
        missed = [f for f in FINDINGS if gold.at[rid, f]]
        rows.append({"kind": "fp", "finding": NORMAL, "rule": NO_RULE, "report_id": rid,
                     "status": "", "mention": "|".join(missed), "sentence": ""})
    for rid in gold.index[gold[NORMAL] & ~pred[NORMAL]]:
        hits = [m for (r, _), ms in _by_report(evidence, rid) for m in ms
                if m["status"] in (POSITIVE, UNCERTAIN) and m.get("counts", True)]
        rows += _rows("fn", NORMAL, rid, hits)
    return rows


def _by_report(evidence: Evidence, rid: str):
    return [(key, ms) for key, ms in evidence.items() if key[0] == rid]


def _rows(kind: str, finding: str, rid: str, mentions: list[dict]) -> list[dict]:
    if not mentions:
        return [{"kind": kind, "finding": finding, "rule": NO_RULE, "report_id": rid,
                 "status": "", "mention": "", "sentence": ""}]
    return [{"kind": kind, "finding": finding, "rule": _rule(m), "report_id": rid,
             "status": m["status"], "mention": m.get("text", ""),
             "sentence": " ".join(str(m.get("sentence", "")).split())} for m in mentions]


def rule_counts(rows: list[dict], kind: str = "fp") -> Counter:
    """``Counter`` of ``(finding, rule)`` over the rows of ``kind`` (one count per report)."""
    seen = {(r["finding"], r["rule"], r["report_id"]) for r in rows if r["kind"] == kind}
    return Counter((finding, rule) for finding, rule, _ in seen)


def error_report(gold_csv: str | Path, pred_csv: str | Path, evidence: str | Path | None = None,
                 coding: str = "paper", uncertain_positive: bool = False) -> list[dict]:
    """:func:`error_rows` of two CSVs; evidence read from ``evidence`` (JSONL), or, without
    it, from labeling the gold CSV's ``text`` column again with ``coding``."""
    gold = read_csv(gold_csv, ("report_id", "gold"))
    pred = read_csv(pred_csv, ("report_id", *FINDINGS_AND_NORMAL))
    if evidence is not None:
        found = read_evidence(evidence)
    elif "text" in gold.columns:
        ids = [str(r) for r in gold["report_id"]]
        found = evidence_of(ids, Labeler(coding=coding).label_reports(list(gold["text"])))
    else:
        raise ChestxError(f"{gold_csv}: no text column to find the rules behind errors; "
                          "give --evidence (the JSONL of `chestx label --evidence`)")
    gold_tbl = gold_table(gold)
    return error_rows(gold_tbl, pred_table(pred, uncertain_positive).loc[gold_tbl.index],
                      found, uncertain_positive)


def write_errors(path: str | Path, rows: list[dict]) -> None:
    """Write the rows as a CSV (atomically), false positives first."""
    order = sorted(rows, key=lambda r: (r["kind"] != "fp", r["finding"], r["rule"],
                                        r["report_id"]))
    with atomic_open(path, "w") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(order)


def format_rule_counts(rows: list[dict], top: int = 25) -> str:
    """The most frequent rules behind false positives, one line each."""
    counts = rule_counts(rows)
    lines = [f"False positives by rule id (reports; top {top} of {len(counts)}):"]
    lines += [f"  {n:>4}  {finding:<20} {rule}" for (finding, rule), n in
              counts.most_common(top)]
    return "\n".join(lines)
