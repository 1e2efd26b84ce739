"""The progress bar of a retrieve job: studies, and instances with the megabytes written."""

from __future__ import annotations

import threading

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chestx.database.pacs.jobstate import JobState
from chestx.progress import stderr_console


class JobProgress:
    """A progress bar with studies, instances and megabytes (silent when disabled)."""

    def __init__(self, state: JobState, enabled: bool) -> None:
        self.enabled, self.state = enabled, state
        self._lock = threading.Lock()
        self._bytes = 0

    def __enter__(self) -> JobProgress:
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
