"""The retrieve job: the studies of ``studies.csv`` -> ``DIR/<PatientID>/<StudyUID>/<SeriesUID>/
<SOPUID>.dcm``, only what a chest X-ray database needs, resumable.

Per study: a series-level query, :mod:`~chestx.database.pacs.selection` decides (frontal CR/DX and
reports are taken; CT, laterals and the rest are listed in ``retrieve_skipped.csv``), an
instance-level query lists what to fetch and where it lands, all recorded in the
:class:`~chestx.database.pacs.jobstate.JobState` before anything is fetched. Then every instance not
in place yet is fetched, optionally de-identified, and written atomically; an instance whose
file is already there (a run killed between writing and recording) is recorded, not fetched
again. Timeouts, 5xx answers and aborted associations are retried with exponential backoff; a
study that still fails is listed with its reason in ``retrieve_failed.csv`` and the others go
on; a PACS that cannot be reached (or refuses us) stops the job with one line, and the rerun
resumes.

With de-identification the state, the lists and the key name source identifiers, so they live
in the private folder beside ``DIR`` (:func:`chestx.database.pacs.deidentify.default_key_path`),
never inside it.
"""

from __future__ import annotations

import csv
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chestx.atomic import atomic_open
from chestx.database.pacs.deidentify import FLAG_LIST, Pseudonymizer, instance_path, write_dataset
from chestx.database.pacs.jobstate import STATE_NAME, JobState
from chestx.database.pacs.query import DEFAULT_MODALITIES
from chestx.database.pacs.selection import (
    INSTANCE_FIELDS,
    SERIES_FIELDS,
    instance_decision,
    series_decision,
)
from chestx.database.pacs.transports import Transport, TransportError
from chestx.database.pacs.window import TimeWindow, wait_for_window
from chestx.errors import ChestxError
from chestx.progress import stderr_console

SKIPPED_LIST, FAILED_LIST = "retrieve_skipped.csv", "retrieve_failed.csv"


@dataclass
class RetrieveSettings:
    """How a retrieve runs (the command line's options, with their defaults)."""

    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    max_concurrent: int = 2
    retries: int = 3
    backoff: float = 1.0
    window: TimeWindow | None = None
    progress: bool = True


@dataclass
class RetrieveSummary:
    """What a retrieve run found and did."""

    studies: int = 0
    studies_done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    instances: int = 0
    fetched: int = 0
    recovered: int = 0
    bytes: int = 0
    flagged: int = 0
    lists: Path = field(default_factory=Path)


class Retriever:
    """Fetch the studies of a list into ``out`` through ``make_transport()`` (called once
    per worker thread); ``pseudonymizer`` de-identifies every file when given."""

    def __init__(self, make_transport: Callable[[], Transport], out: str | os.PathLike,
                 settings: RetrieveSettings | None = None,
                 pseudonymizer: Pseudonymizer | None = None,
                 private_dir: str | os.PathLike | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.make_transport, self.out = make_transport, Path(out)
        self.settings = settings or RetrieveSettings()
        if self.settings.max_concurrent < 1:
            raise ChestxError("--max-concurrent must be at least 1")
        self.pseudonymizer = pseudonymizer
        if pseudonymizer is not None and private_dir is None:
            raise ChestxError("de-identification needs a private folder for the job state")
        # identified state and lists may sit in the output; de-identified ones may not
        self.lists_dir = Path(private_dir) if pseudonymizer is not None else self.out
        self.sleep = sleep
        self._local = threading.local()
        self._stop = threading.Event()
        self._flagged: list[str] = []
        self._counts = {"fetched": 0, "recovered": 0}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- the job
    def run(self, studies: list[dict[str, str]]) -> RetrieveSummary:
        self.out.mkdir(parents=True, exist_ok=True)
        remove_partial_files(self.out)
        state = JobState(self.lists_dir / STATE_NAME)
        try:
            state.add_studies(studies)
            todo = [s for s in studies if state.study_status(s["StudyInstanceUID"]) != "done"]
            with _JobProgress(state, self.settings.progress) as progress:
                self._progress = progress
                self._run_all(todo, state)
            return self._summary(state)
        finally:
            self._write_lists(state)
            state.close()

    def _run_all(self, todo: list[dict[str, str]], state: JobState) -> None:
        transports: list[Transport] = []
        with ThreadPoolExecutor(self.settings.max_concurrent,
                                thread_name_prefix="retrieve") as pool:
            futures = [pool.submit(self._study_with_retries, s, state, transports)
                       for s in todo]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            self._stop.set()
            for future in pending:
                future.cancel()
            errors = [f.exception() for f in done if f.exception() is not None]
        for transport in transports:
            try:
                transport.close()
            except Exception:  # closing a dead connection must not hide the real error
                pass
        if errors:
            raise errors[0]

    def _transport(self, transports: list[Transport]) -> Transport:
        if getattr(self._local, "transport", None) is None:
            self._local.transport = self.make_transport()
            transports.append(self._local.transport)
        return self._local.transport

    def _study_with_retries(self, study: dict[str, str], state: JobState,
                            transports: list[Transport]) -> None:
        uid = study["StudyInstanceUID"]
        for attempt in range(self.settings.retries + 1):
            if self._stop.is_set():
                return
            wait_for_window(self.settings.window, self._say, self.sleep)
            try:
                self._study(study, state, self._transport(transports))
                state.set_study(uid, "done")
                self._progress.study_done()
                return
            except _Stopped:
                return
            except TransportError as exc:
                self._local.transport = None  # a fresh connection for the next try
                fatal = not exc.retryable and _is_refusal(exc)
                if fatal or (exc.unreachable and attempt == self.settings.retries):
                    self._stop.set()  # the other studies would fail the same way
                    raise ChestxError(f"{exc}; rerun the same command to resume "
                                      f"({state.totals()['instances_done']} instances in "
                                      "place)") from exc
                if not exc.retryable or attempt == self.settings.retries:
                    state.set_study(uid, "failed", str(exc))
                    self._progress.study_done()
                    return
                self.sleep(self.settings.backoff * 2 ** attempt)
            except ChestxError as exc:  # this study's data is bad: list it, go on
                state.set_study(uid, "failed", str(exc))
                self._progress.study_done()
                return

    # ---------------------------------------------------------------- one study
    def _study(self, study: dict[str, str], state: JobState, transport: Transport) -> None:
        uid = study["StudyInstanceUID"]
        if state.study_status(uid) not in ("listed",):
            self._list(study, state, transport)
            state.set_study(uid, "listed")
        todo = state.todo(uid)
        by_series: dict[str, list[dict[str, str]]] = {}
        for instance in todo:
            target = self.out / instance["path"]
            if target.is_file():  # written by a run killed before it could record it
                state.mark_done(instance["SOPInstanceUID"], target.stat().st_size)
                self._count("recovered")
                continue
            by_series.setdefault(instance["SeriesInstanceUID"], []).append(instance)
        for series, instances in by_series.items():
            if self._stop.is_set():
                raise _Stopped
            planned = {i["SOPInstanceUID"]: i for i in instances}
            for ds in transport.fetch(uid, series, instances):
                self._store(ds, planned, state)
            missing = {i["SOPInstanceUID"] for i in state.todo(uid)} & planned.keys()
            if missing:
                raise TransportError(f"{len(missing)} instances of series {series} did not "
                                     "arrive", retryable=True)

    def _list(self, study: dict[str, str], state: JobState, transport: Transport) -> None:
        uid = study["StudyInstanceUID"]
        all_series = transport.find("SERIES", {"StudyInstanceUID": uid}, SERIES_FIELDS)
        if not all_series:
            raise ChestxError(f"study {uid}: the PACS lists no series in it")
        rows = []
        for series in all_series:
            reason = series_decision(series, self.settings.modalities)
            if reason:
                state.add_skipped(uid, "series", series["SeriesInstanceUID"], reason)
                continue
            patient = series.get("PatientID") or study.get("PatientID", "")
            query = {"StudyInstanceUID": uid, "SeriesInstanceUID": series["SeriesInstanceUID"]}
            for instance in transport.find("IMAGE", query, INSTANCE_FIELDS):
                reason = instance_decision(instance, series)
                if reason:
                    state.add_skipped(uid, "instance", instance["SOPInstanceUID"], reason)
                    continue
                ids = (patient, uid, series["SeriesInstanceUID"], instance["SOPInstanceUID"])
                if self.pseudonymizer is not None:
                    ids = self.pseudonymizer.pseudonymous_ids(*ids)
                rows.append((instance["SOPInstanceUID"], series["SeriesInstanceUID"],
                             instance.get("SOPClassUID", ""), str(instance_path(Path(), ids))))
        state.add_instances(uid, rows)

    def _store(self, ds: Dataset, planned: dict[str, dict[str, str]], state: JobState) -> None:
        sop = str(ds.get("SOPInstanceUID", ""))
        if sop not in planned:
            return  # the PACS sent something we did not ask for
        state.mark_fetched(sop)
        if self.pseudonymizer is not None and self.pseudonymizer.deidentify(ds):
            with self._lock:
                self._flagged.append(planned[sop]["path"])
        size = write_dataset(ds, self.out / planned[sop]["path"])
        state.mark_done(sop, size)
        self._count("fetched")
        self._progress.instance_done(size)

    # ---------------------------------------------------------------- reporting
    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _say(self, message: str) -> None:
        stderr_console.print(message)

    def _summary(self, state: JobState) -> RetrieveSummary:
        totals = state.totals()
        return RetrieveSummary(
            studies=totals["studies"], studies_done=totals["studies_done"],
            failed=state.failures(), skipped=len(state.skipped()),
            instances=totals["instances"], fetched=self._counts["fetched"],
            recovered=self._counts["recovered"], bytes=totals["bytes"],
            flagged=len(self._flagged), lists=self.lists_dir)

    def _write_lists(self, state: JobState) -> None:
        with atomic_open(self.lists_dir / SKIPPED_LIST, "w") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["StudyInstanceUID", "level", "uid", "reason"])
            writer.writerows(state.skipped())
        with atomic_open(self.lists_dir / FAILED_LIST, "w") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["StudyInstanceUID", "reason"])
            writer.writerows(state.failures())
        if self._flagged:
            flag_list = self.out / FLAG_LIST
            old = flag_list.read_text().splitlines()[1:] if flag_list.is_file() else []
            with atomic_open(flag_list, "w") as handle:
                handle.write("path\n" + "".join(f"{p}\n" for p in
                                                dict.fromkeys(old + self._flagged)))


class _Stopped(Exception):
    """Another worker stopped the job: leave this study as it is, for the rerun."""


def _is_refusal(exc: TransportError) -> bool:
    return "association rejected" in str(exc)


def remove_partial_files(root: Path) -> list[Path]:
    """Delete the temp files (``.<name>.*.dcm``) that a killed run left under ``root``."""
    stale = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(".dcm"):
                path = Path(folder) / name
                path.unlink(missing_ok=True)
                stale.append(path)
    return stale


class _JobProgress:
    """A progress bar with studies, instances and megabytes (silent when disabled)."""

    def __init__(self, state: JobState, enabled: bool) -> None:
        self.enabled, self.state = enabled, state
        self._lock = threading.Lock()
        self._bytes = 0

    def __enter__(self) -> _JobProgress:
        if self.enabled:
            totals = self.state.totals()
            self._bytes = totals["bytes"]
            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[extra]}"),
                                 TimeElapsedColumn(), console=stderr_console)
            self._bar.start()
            self._studies = self._bar.add_task("studies", total=totals["studies"],
                                               completed=totals["studies_done"], extra="")
            self._instances = self._bar.add_task("instances", total=None,
                                                 completed=totals["instances_done"],
                                                 extra=self._mb())
        return self

    def _mb(self) -> str:
        return f"{self._bytes / 1e6:.1f} MB"

    def study_done(self) -> None:
        if self.enabled:
            with self._lock:
                self._bar.advance(self._studies)

    def instance_done(self, size: int) -> None:
        if self.enabled:
            with self._lock:
                self._bytes += size
                self._bar.update(self._instances, advance=1, extra=self._mb())

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._bar.stop()
