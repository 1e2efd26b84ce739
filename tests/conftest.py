"""Fixtures shared by every test package.

``shared`` is the read-only reference data beside the checkout (``../shared``). A user's
fresh clone has none: tests that need it ask for the ``shared_dir`` fixture and are skipped
with a reason when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CHESTX_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or $CHESTX_SHARED); skips the test when it is not there."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"reference data not found at {SHARED} (only in the project's workspace)")
    return SHARED


@pytest.fixture
def run_cli(capsys):
    """Run ``chestx ARGS...`` in-process; return (exit_code, stdout, stderr)."""
    from chestx.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
