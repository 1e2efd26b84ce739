"""The job state of a retrieve: one SQLite file, so a killed run resumes where it stopped.

Tables:

- ``studies``: one row per study of the list: ``status`` pending / listed (its series were
  queried, its instances are in ``instances``) / done / failed, the failure ``reason``, and
  the ``attempts`` made.
- ``instances``: every instance to fetch: its UIDs, SOP class, the relative ``path`` it lands
  at, ``done`` (1 once the file is in place), its size and how often it was ``fetched``
  (received whole).
- ``skipped``: series and instances not fetched (CT, lateral, ...) with the reason.
- ``series``: how many instances the PACS holds in each taken series (a series whose every
  instance is wanted and none in place yet is fetched with one series-level request).

Every change is committed at once (SQLite's journal makes each commit atomic), so a
``kill -9`` loses at most the instance being written, whose file then is not in place yet.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from chestx.errors import ChestxError

STATE_NAME = ".chestx_retrieve.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (uid TEXT PRIMARY KEY, patient_id TEXT, status TEXT,
    reason TEXT DEFAULT '', attempts INTEGER DEFAULT 0, position INTEGER);
CREATE TABLE IF NOT EXISTS instances (sop_uid TEXT PRIMARY KEY, study_uid TEXT,
    series_uid TEXT, sop_class TEXT, path TEXT, done INTEGER DEFAULT 0,
    bytes INTEGER DEFAULT 0, fetched INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS skipped (uid TEXT PRIMARY KEY, study_uid TEXT, level TEXT,
    reason TEXT);
CREATE TABLE IF NOT EXISTS series (uid TEXT PRIMARY KEY, study_uid TEXT, total INTEGER);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances (study_uid, done);
"""


class JobState:
    """The SQLite state at ``path``; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            # WAL: a commit is one append, and survives a killed process (only a power loss
            # may undo the last ones, whose files the rerun then finds in place)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ChestxError(f"{self.path}: not a retrieve job state ({exc})") from exc
        self._lock = threading.Lock()

    def _run(self, sql: str, args=(), many: bool = False) -> list[tuple]:
        with self._lock:
            cursor = self._db.executemany(sql, args) if many else self._db.execute(sql, args)
            rows = cursor.fetchall()
            self._db.commit()
            return rows

    def add_studies(self, studies: list[dict[str, str]]) -> None:
        """Register the study list (studies already known keep their state)."""
        start = self._run("SELECT COALESCE(MAX(position), -1) + 1 FROM studies")[0][0]
        self._run("INSERT OR IGNORE INTO studies (uid, patient_id, status, position) "
                  "VALUES (?, ?, 'pending', ?)",
                  [(s["StudyInstanceUID"], s.get("PatientID", ""), start + i)
                   for i, s in enumerate(studies)], many=True)

    def study_status(self, uid: str) -> str:
        rows = self._run("SELECT status FROM studies WHERE uid = ?", (uid,))
        return rows[0][0] if rows else ""

    def set_study(self, uid: str, status: str, reason: str = "") -> None:
        self._run("UPDATE studies SET status = ?, reason = ?, attempts = attempts + "
                  "(? = 'failed') WHERE uid = ?", (status, reason, status, uid))

    def add_instances(self, study: str, rows: list[tuple[str, str, str, str]]) -> None:
        """``rows``: (sop_uid, series_uid, sop_class, relative path); known ones are kept."""
        self._run("INSERT OR IGNORE INTO instances (sop_uid, study_uid, series_uid, sop_class,"
                  " path) VALUES (?, ?, ?, ?, ?)",
                  [(sop, study, series, cls, path) for sop, series, cls, path in rows],
                  many=True)

    def add_series(self, study: str, rows: list[tuple[str, int]]) -> None:
        """``rows``: (series_uid, instances the PACS holds in it)."""
        self._run("INSERT OR REPLACE INTO series VALUES (?, ?, ?)",
                  [(series, study, total) for series, total in rows], many=True)

    def whole_series(self, study: str) -> set[str]:
        """Series of ``study`` whose every instance is wanted and none is in place yet."""
        rows = self._run("SELECT s.uid FROM series s JOIN instances i ON i.series_uid = s.uid "
                         "WHERE s.study_uid = ? GROUP BY s.uid "
                         "HAVING COUNT(*) = s.total AND SUM(i.done) = 0", (study,))
        return {r[0] for r in rows}

    def has_skipped(self, study: str) -> bool:
        """Whether anything of ``study`` (a series, an instance) is not taken."""
        return bool(self._run("SELECT 1 FROM skipped WHERE study_uid = ? LIMIT 1", (study,)))

    def add_skipped(self, study: str, level: str, uid: str, reason: str) -> None:
        self._run("INSERT OR REPLACE INTO skipped VALUES (?, ?, ?, ?)",
                  (uid, study, level, reason))

    def todo(self, study: str) -> list[dict[str, str]]:
        """Instances of ``study`` not in place yet, by series then path."""
        rows = self._run("SELECT sop_uid, series_uid, sop_class, path FROM instances "
                         "WHERE study_uid = ? AND done = 0 ORDER BY series_uid, path",
                         (study,))
        return [{"SOPInstanceUID": r[0], "SeriesInstanceUID": r[1], "SOPClassUID": r[2],
                 "path": r[3]} for r in rows]

    def mark_done(self, sop_uid: str, size: int, fetched: bool = False) -> None:
        """The file of ``sop_uid`` is in place (``fetched``: just received whole, counted)."""
        self._run("UPDATE instances SET done = 1, bytes = ?, fetched = fetched + ? "
                  "WHERE sop_uid = ?", (size, int(fetched), sop_uid))

    def totals(self) -> dict[str, int]:
        """Counts for the progress bar and the summary."""
        studies = dict(self._run("SELECT status, COUNT(*) FROM studies GROUP BY status"))
        done, size, total = self._run("SELECT COALESCE(SUM(done), 0), COALESCE(SUM(bytes), 0),"
                                      " COUNT(*) FROM instances")[0]
        return {"studies": sum(studies.values()), "studies_done": studies.get("done", 0),
                "studies_failed": studies.get("failed", 0), "instances": total,
                "instances_done": done, "bytes": size}

    def failures(self) -> list[tuple[str, str]]:
        return self._run("SELECT uid, reason FROM studies WHERE status = 'failed' "
                         "ORDER BY position")

    def skipped(self) -> list[tuple[str, str, str, str]]:
        return self._run("SELECT study_uid, level, uid, reason FROM skipped "
                         "ORDER BY study_uid, uid")

    def fetch_counts(self) -> dict[str, int]:
        """SOPInstanceUID -> how many times it was fetched (1 for a clean job)."""
        return dict(self._run("SELECT sop_uid, fetched FROM instances"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
