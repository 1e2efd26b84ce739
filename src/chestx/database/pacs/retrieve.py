"""The retrieve job: the studies of ``studies.csv`` -> ``DIR/<PatientID>/<StudyUID>/<SeriesUID>/
<SOPUID>.dcm``, only what a chest X-ray database needs, resumable.

Chunk by chunk (:data:`LIST_CHUNK` studies): first the listing, on one connection released
after it: one instance-level query for :data:`LIST_BATCH` studies at a time, with the series
keys (:mod:`~chestx.database.pacs.plan`); :mod:`~chestx.database.pacs.selection` decides
(frontal CR/DX and reports are taken; CT, laterals and the rest are listed in
``retrieve_skipped.csv``), and what to fetch and where it lands is recorded in the
:class:`~chestx.database.pacs.jobstate.JobState` before anything is fetched. Then the workers
fetch: ``--max-concurrent`` studies in flight, on at most ``connections`` connections (DIMSE:
``--max-associations``); each worker opens its connection at its first request, sends its
requests back to back (whole studies in one request, several studies per request where
studies in flight outnumber connections) and closes it when no study is left. What arrives is
written as it came (no decode, no re-encode; de-identified in memory and written once with
``--deidentify``), atomically; an instance whose file is already there (a run killed between
writing and recording) is recorded, not fetched again. Timeouts, 5xx answers and aborted
associations are retried with exponential backoff; a study that still fails is listed with its
reason in ``retrieve_failed.csv`` and the others go on; a PACS that cannot be reached (or
refuses us) stops the job with one line, and the rerun resumes.

With de-identification the state, the lists and the key name source identifiers: they live in
the private folder beside ``DIR`` (:func:`~.deidentify.default_key_path`), never inside it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from chestx.atomic import atomic_open
from chestx.database.pacs.deidentify import (
    FLAG_LIST,
    Pseudonymizer,
    default_key_path,
    write_dataset,
)
from chestx.database.pacs.jobprogress import JobProgress
from chestx.database.pacs.jobstate import STATE_NAME, JobState
from chestx.database.pacs.pacs_config import DEFAULT_MAX_ASSOCIATIONS
from chestx.database.pacs.plan import Listing, list_studies, plan_requests, record_study
from chestx.database.pacs.query import DEFAULT_MODALITIES
from chestx.database.pacs.transports import transport_factory
from chestx.database.pacs.window import TimeWindow, wait_for_window
from chestx.database.pacs.wire import Link, Received, Transport, TransportError
from chestx.errors import ChestxError
from chestx.progress import stderr_console

SKIPPED_LIST, FAILED_LIST = "retrieve_skipped.csv", "retrieve_failed.csv"
#: DIMSE associations open at once by default: half of the 4 DICOM threads Orthanc serves
#: with by default (``DicomThreadsCount``), so other modalities still get through.
#: Studies listed (one connection) before or while the workers fetch them: a job of many
#: studies starts fetching early.
LIST_CHUNK = 200
#: Studies listed by one instance-level query (a UID list): few enough that a PACS that
#: caps its answers (often at 500 or 1000) answers them all.
LIST_BATCH = 20
#: Studies in the first listing query of a chunk where the workers fetch during the listing
#: (they wait for it).
FIRST_LIST = 4


@dataclass
class RetrieveSettings:
    """How a retrieve runs (the command line's options, with their defaults)."""

    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    max_concurrent: int = 2
    retries: int = 3
    backoff: float = 1.0
    window: TimeWindow | None = None
    progress: bool = True
    #: connections (DIMSE: associations) open at once; ``None``: one per study in flight.
    #: Fewer connections than studies in flight: each request carries several studies.
    connections: int | None = None
    #: fetch while the listing goes on (DICOMweb); DIMSE lists first: pynetdicom 3.0 was
    #: seen to drop a C-FIND answer while another association of ours ran a C-GET
    overlap_listing: bool = False


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


@dataclass
class Source:
    """Where the studies come from (the command line's PACS options)."""

    dicomweb: str | None = None
    dimse: str | None = None
    aet: str = "CHESTX"
    move_dest: str | None = None
    store_port: int | None = None
    store_host: str = "127.0.0.1"
    timeout: float = 60.0
    max_associations: int = DEFAULT_MAX_ASSOCIATIONS


def retrieve(studies: list[dict[str, str]], out: str | os.PathLike, source: Source,
             settings: RetrieveSettings, deidentify: bool = False,
             key: str | os.PathLike | None = None,
             burned_in: str = "if-yes") -> tuple[RetrieveSummary, str, Path]:
    """Run a retrieve job wired from options: ``(summary, where from, key path)``.

    C-MOVE runs its storage SCP for the job; over DIMSE at most ``source.max_associations``
    associations are open at once (studies in flight beyond that share requests)."""
    if source.max_associations < 1:
        raise ChestxError("--max-associations must be at least 1")
    if bool(source.move_dest) != bool(source.store_port):
        raise ChestxError("C-MOVE needs both --move-dest AET and --store-port N")
    if source.dimse:
        settings = replace(settings, connections=min(settings.max_concurrent,
                                                     source.max_associations))
    else:
        settings = replace(settings, overlap_listing=True)
    key_path = Path(key) if key else default_key_path(out)
    pseudonymizer = Pseudonymizer(key_path, burned_in, protect=out) if deidentify else None
    try:
        with contextlib.ExitStack() as stack:
            scp = None
            if source.move_dest:  # pynetdicom is imported only where DIMSE is used
                from chestx.database.pacs.storescp import StorageSCP  # noqa: PLC0415
                scp = stack.enter_context(StorageSCP(source.move_dest, source.store_port,
                                                     source.store_host))
            make, where = transport_factory(source.dicomweb, source.dimse, source.aet,
                                            source.move_dest, scp, source.timeout,
                                            backoff=settings.backoff)
            summary = Retriever(make, out, settings, pseudonymizer,
                                private_dir=key_path.parent if deidentify else None).run(studies)
    finally:
        if pseudonymizer is not None:
            pseudonymizer.close()
    return summary, where, key_path


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
        self._listed: dict[str, Listing] = {}

    # ---------------------------------------------------------------- the job
    def run(self, studies: list[dict[str, str]]) -> RetrieveSummary:
        self.out.mkdir(parents=True, exist_ok=True)
        remove_partial_files(self.out)
        state = JobState(self.lists_dir / STATE_NAME)
        try:
            state.add_studies(studies)
            todo = [s for s in studies if state.study_status(s["StudyInstanceUID"]) != "done"]
            with JobProgress(state, self.settings.progress) as progress:
                self._progress = progress
                self._run_all(todo, state)
            return self._summary(state)
        finally:
            self._write_lists(state)
            state.close()

    def _run_all(self, todo: list[dict[str, str]], state: JobState) -> None:
        """Chunk by chunk: list the chunk's studies on one connection (released after it),
        and fetch them with the workers: after the listing, or while it goes on where
        ``overlap_listing`` is set."""
        for start in range(0, len(todo), LIST_CHUNK):
            chunk = todo[start:start + LIST_CHUNK]
            batches: queue.Queue = queue.Queue()
            if self.settings.overlap_listing:
                self._fetch_all(batches, state, partial(self._list_chunk, chunk, state, batches))
            else:
                self._list_chunk(chunk, state, batches)
                self._fetch_all(batches, state, lambda: None)
            if self._stop.is_set():
                return

    def _shape(self) -> tuple[int, int]:
        """(connections, studies per request): ``max_concurrent`` studies in flight."""
        connections = min(self.settings.connections or self.settings.max_concurrent,
                          self.settings.max_concurrent)
        return connections, -(-self.settings.max_concurrent // connections)

    def _list_chunk(self, chunk: list[dict[str, str]], state: JobState,
                    batches: queue.Queue) -> None:
        """List the studies of ``chunk`` on one connection; each listed study goes to
        ``batches`` for the fetch workers, a request's worth at a time. Where they fetch
        meanwhile, the first query names a few studies only, so that they start early."""
        per_batch = self._shape()[1]
        link = Link(self.make_transport)
        try:
            ready: list[dict[str, str]] = []
            first = FIRST_LIST if self.settings.overlap_listing else LIST_BATCH
            sizes = [first] + [LIST_BATCH] * (len(chunk) // LIST_BATCH + 1)
            starts = list(itertools.accumulate([0, *sizes]))
            for start, end in zip(starts, starts[1:], strict=False):
                group = chunk[start:end]
                self._listed = self._prelist(group, state, link)
                for study in group:
                    if self._stop.is_set():
                        return
                    self._batch_with_retries([study], state, link, self._list)
                    if state.study_status(study["StudyInstanceUID"]) == "listed":
                        ready.append(study)
                    if len(ready) == per_batch:
                        batches.put(ready)
                        ready = []
            if ready:
                batches.put(ready)
        finally:
            link.close()

    def _fetch_all(self, batches: queue.Queue, state: JobState, produce) -> None:
        """Fetch ``batches`` with the workers while ``produce()`` (in this thread) may still
        add to them."""
        connections = self._shape()[0]
        with ThreadPoolExecutor(connections, thread_name_prefix="retrieve") as pool:
            futures = [pool.submit(self._worker, batches, state) for _ in range(connections)]
            try:
                produce()
            finally:
                for _ in futures:
                    batches.put(None)  # no more: each worker ends after the work it has
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                self._stop.set()
            for future in pending:
                future.cancel()
            errors = [f.exception() for f in done if f.exception() is not None]
        if errors:
            raise errors[0]

    def _prelist(self, chunk: list[dict[str, str]], state: JobState,
                 link: Link) -> dict[str, Listing]:
        """Listings of the studies of ``chunk`` not listed yet, one query (best effort: what
        is missing is asked for study by study)."""
        uids = [s["StudyInstanceUID"] for s in chunk
                if state.study_status(s["StudyInstanceUID"]) not in ("listed", "done")]
        listings: dict[str, Listing] = {}
        try:
            if uids:
                listings = list_studies(link.get(), uids)
        except ChestxError:
            link.close()  # the study-by-study listing retries, with backoff
        return listings

    def _worker(self, batches: queue.Queue, state: JobState) -> None:
        """Fetch batches until told there are no more. One unit of work: the connection
        (association) is opened at its first request, used back to back, and closed when no
        batch is left, before a wait (night window, backoff) and after an error."""
        link = Link(self.make_transport)
        try:
            while not self._stop.is_set():
                batch = batches.get()
                if batch is None:
                    return
                self._batch_with_retries(batch, state, link, self._fetch)
        finally:
            link.close()

    def _batch_with_retries(self, batch: list[dict[str, str]], state: JobState,
                            link: Link, action) -> None:
        for attempt in range(self.settings.retries + 1):
            if self._stop.is_set():
                return
            window = self.settings.window
            if window is not None and not window.contains(dt.datetime.now()):
                link.close()  # never hold the PACS while we sleep
            wait_for_window(window, self._say, self.sleep)
            try:
                action(batch, state, link.get())
                return
            except _Stopped:
                return
            except TransportError as exc:
                link.close()  # a fresh connection for the next try
                left = [s for s in batch if state.study_status(s["StudyInstanceUID"])
                        not in ("done", "failed")]
                fatal = not exc.retryable and _is_refusal(exc)
                if fatal or (exc.unreachable and attempt == self.settings.retries):
                    self._stop.set()  # the other studies would fail the same way
                    raise ChestxError(f"{exc}; rerun the same command to resume "
                                      f"({state.totals()['instances_done']} instances in "
                                      "place)") from exc
                if not exc.retryable or attempt == self.settings.retries:
                    for study in left:
                        self._failed(study, state, str(exc))
                    return
                batch = left
                self.sleep(self.settings.backoff * 2 ** attempt)

    def _failed(self, study: dict[str, str], state: JobState, reason: str) -> None:
        state.set_study(study["StudyInstanceUID"], "failed", reason)
        self._progress.study_done()

    # ---------------------------------------------------------------- one batch
    def _list(self, batch: list[dict[str, str]], state: JobState,
              transport: Transport) -> None:
        for study in batch:
            uid = study["StudyInstanceUID"]
            if state.study_status(uid) in ("listed", "done"):
                continue
            try:
                record_study(transport, study, state, self.settings.modalities,
                             self.pseudonymizer, self._listed.pop(uid, None))
            except TransportError:
                raise
            except ChestxError as exc:  # this study's data is bad: list it, go on
                self._failed(study, state, str(exc))
                continue
            state.set_study(uid, "listed")

    def _fetch(self, batch: list[dict[str, str]], state: JobState,
               transport: Transport) -> None:
        listed = [s["StudyInstanceUID"] for s in batch
                  if state.study_status(s["StudyInstanceUID"]) == "listed"]
        todo = {uid: self._not_in_place(uid, state) for uid in listed}
        planned = {i["SOPInstanceUID"]: i for rows in todo.values() for i in rows}
        for request in plan_requests(listed, todo, state):
            if self._stop.is_set():
                raise _Stopped
            for item in transport.fetch(request):
                self._store(item, planned, state)
        for uid in listed:
            missing = len(state.todo(uid))
            if missing:
                raise TransportError(f"study {uid}: {missing} instances did not arrive",
                                     retryable=True)
            state.set_study(uid, "done")
            self._progress.study_done()

    def _not_in_place(self, uid: str, state: JobState) -> list[dict[str, str]]:
        todo = []
        for instance in state.todo(uid):
            target = self.out / instance["path"]
            if target.is_file():  # written by a run killed before it could record it
                state.mark_done(instance["SOPInstanceUID"], target.stat().st_size)
                self._count("recovered")
                continue
            todo.append(instance)
        return todo

    def _store(self, item: Received, planned: dict[str, dict[str, str]],
               state: JobState) -> None:
        instance = planned.pop(item.sop_uid, None)
        if instance is None:
            item.discard()  # the PACS sent something we did not ask for, or sent it twice
            return
        target = self.out / instance["path"]
        if self.pseudonymizer is None:
            size = item.write(target)  # as it comes: nothing in it changes
        else:
            ds = item.dataset()
            if self.pseudonymizer.deidentify(ds):
                with self._lock:
                    self._flagged.append(instance["path"])
            size = write_dataset(ds, target)
        state.mark_done(item.sop_uid, size, fetched=True)  # received whole, and in place
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
