"""Fixtures of the report labeler tests: one spaCy model load per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from chestx.reports import Labeler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports.csv"


@pytest.fixture(scope="session")
def labeler() -> Labeler:
    """The default labeler (shipped vocabulary and rules, spaCy loaded once)."""
    lab = Labeler()
    lab.nlp  # noqa: B018 -- load now, once
    return lab


@pytest.fixture(scope="session")
def examples_csv() -> Path:
    """The example reports shipped with the repository (used by ``make demo``)."""
    return EXAMPLES
