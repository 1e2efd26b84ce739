"""Atomic outputs: contents, cleanup on error, and the mode of the final file."""

from __future__ import annotations

import builtins
import os
import stat

import pytest

from chestx.atomic import (
    atomic_open,
    atomic_path,
    atomic_write_text,
    current_umask,
    remove_leftovers,
)


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back afterwards."""
    old = os.umask(0o022)
    try:
        yield lambda mask: os.umask(mask)
    finally:
        os.umask(old)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_text_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_error_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_final_mode_follows_umask_like_plain_open(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write_text(tmp_path / "text.txt", "x")
    with atomic_path(tmp_path / "named.csv") as tmp:
        tmp.write_text("a,b\n")
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("x")
    assert mode_of(tmp_path / "text.txt") == expected
    assert mode_of(tmp_path / "named.csv") == expected
    assert mode_of(tmp_path / "plain.txt") == expected


def test_mode_is_set_when_the_writer_replaces_the_temp_file(tmp_path, umask):
    umask(0o022)
    with atomic_path(tmp_path / "out.bin") as tmp:
        tmp.unlink()  # some writers delete and recreate their output
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    assert mode_of(tmp_path / "out.bin") == 0o644


def test_current_umask_reads_without_proc(umask, monkeypatch):
    umask(0o027)
    assert current_umask() == 0o027
    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    assert current_umask() == 0o027
    assert os.umask(0o027) == 0o027  # the fallback put the mask back


def test_leftovers_of_a_killed_write_are_removed_and_nothing_else(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("kept")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        stale = tmp.with_name(tmp.name.replace(".metrics.", ".metrics.x"))
        stale.write_text("half")  # a temp a SIGKILL would leave behind
        raise KeyboardInterrupt
    others = [tmp_path / ".metrics.csv.bak", tmp_path / ".other.abc.csv", tmp_path / "m.csv"]
    for other in others:
        other.write_text("x")
    assert remove_leftovers(target) == [stale]
    assert not stale.exists() and target.read_text() == "kept"
    assert all(other.exists() for other in others)
