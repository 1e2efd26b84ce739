"""The hours a retrieve may run (``--window 19:00-07:00``): a PACS is busy by day."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from chestx.errors import ChestxError


@dataclass(frozen=True)
class TimeWindow:
    """Daily hours ``start``-``end`` (local time); ``end < start`` spans midnight."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not match:
            raise ChestxError(f"--window {text!r}: expected HH:MM-HH:MM (e.g. 19:00-07:00)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ChestxError(f"--window {text!r}: not a time of day")
        if (h1, m1) == (h2 % 24, m2):
            raise ChestxError(f"--window {text!r}: start and end are the same time")
        return cls(dt.time(h1, m1), dt.time(h2 % 24, m2))

    def contains(self, now: dt.datetime) -> bool:
        t = now.time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def seconds_until_open(self, now: dt.datetime) -> float:
        """0 inside the window, else the seconds until it next opens."""
        if self.contains(now):
            return 0.0
        opening = dt.datetime.combine(now.date(), self.start, tzinfo=now.tzinfo)
        if opening <= now:
            opening += dt.timedelta(days=1)
        return (opening - now).total_seconds()

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def wait_for_window(window: TimeWindow | None, say: Callable[[str], None],
                    sleep: Callable[[float], None],
                    clock: Callable[[], dt.datetime] = dt.datetime.now) -> None:
    """Return at once inside ``window`` (or without one); else say so and sleep until it
    opens."""
    if window is None:
        return
    wait = window.seconds_until_open(clock())
    if wait > 0:
        opens = clock() + dt.timedelta(seconds=wait)
        say(f"outside the retrieve window {window}: sleeping until {opens:%Y-%m-%d %H:%M} "
            f"({wait / 3600:.1f} h)")
        sleep(wait)
