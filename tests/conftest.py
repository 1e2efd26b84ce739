"""Fixtures shared by every test package.

``shared`` is the read-only reference data beside the checkout (``../shared``). A user's
fresh clone has none: tests that need it ask for the ``shared_dir`` fixture and are skipped
with a reason when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CHESTX_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or $CHESTX_SHARED); skips the test when it is not there."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"reference data not found at {SHARED} (only in the project's workspace)")
    return SHARED


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """A tiny synthetic dataset (n=40, 64 px), written once per test session."""
    from chestx.synth.cohort import synthesize

    return synthesize(tmp_path_factory.mktemp("synth") / "nih", n=40, size=64, seed=3,
                      workers=1)


@pytest.fixture
def run_cli(capsys):
    """Run ``chestx ARGS...`` in-process; return (exit_code, stdout, stderr)."""
    from chestx.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


@pytest.fixture(scope="session")
def make_dicom():
    """``make_dicom(path, gray)`` -> path of an 8-bit MONOCHROME2 DICOM of ``gray (H, W)``
    without a window (readers min-max stretch it, so keep a 0 and a 255 pixel in ``gray``)."""
    from chestx.synth.dicoms import write_dicom as write
    return lambda path, gray: write(path, np.asarray(gray, dtype=np.uint8), spacing=None)


@pytest.fixture(autouse=True)
def one_thread():
    """Tests run tiny tensors: one intra-op thread is faster than two, and far faster on a
    busy CPU. Restored afterwards (``chestx --threads`` tests set their own)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
