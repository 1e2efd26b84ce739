"""Hospital phrasings across the 14 findings, each expected cell worked out by hand
(tests/reports/phrasings.py): negation scope, clause words, neither/nor, differentials,
hedges, pseudo-negation, resolved findings, devices and the Normal rule, sections and false
vocabulary hits."""

import pytest
from phrasings import GROUPS, NRM, ROWS, cell_accuracy, observed

from chestx.findings import FINDINGS

IDS = [f"{group}-{i}" for group, rows in GROUPS.items() for i in range(len(rows))]


@pytest.mark.parametrize(("text", "cells"), ROWS, ids=IDS)
def test_phrasing(labeler, text, cells):
    result = labeler.label(text)
    got = {finding: observed(result, finding) for finding in cells}
    assert got == cells, [(m.text, m.status, m.rule) for m in result.mentions]


def test_table_covers_every_finding_and_normal():
    named = {finding for _, cells in ROWS for finding in cells}
    assert set(FINDINGS) | {NRM} <= named
    assert all(1 <= len([f for f in cells if f != NRM]) <= 4 or cells.keys() == {NRM}
               for _, cells in ROWS)


def test_cell_accuracy_counts_cells(labeler):
    right, total, wrong = cell_accuracy(labeler)
    assert total == sum(len(cells) for _, cells in ROWS)
    assert right + len(wrong) == total


# Reports the labeler once read as findings where they deny, ask or name a sign
# (tests/reports/phrasings_precision.py): each row failed before the scope cues.
from phrasings_precision import GROUPS as PRECISION_GROUPS  # noqa: E402
from phrasings_precision import ROWS as PRECISION_ROWS  # noqa: E402

PRECISION_IDS = [f"{group}-{i}" for group, rows in PRECISION_GROUPS.items()
                 for i in range(len(rows))]


@pytest.mark.parametrize(("text", "cells"), PRECISION_ROWS, ids=PRECISION_IDS)
def test_precision_phrasing(labeler, text, cells):
    result = labeler.label(text)
    got = {finding: observed(result, finding) for finding in cells}
    assert got == cells, [(m.text, m.status, m.rule) for m in result.mentions]


def test_precision_table_is_big_and_new():
    assert len(PRECISION_ROWS) >= 40
    assert not {text for text, _ in PRECISION_ROWS} & {text for text, _ in ROWS}
