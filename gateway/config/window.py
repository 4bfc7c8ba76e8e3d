"""Send windows: the local hours a campaign may send in (``[broadcast] window``, ``--window``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_WINDOW = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class Window:
    """Local hours a campaign may send in; ``22:00-06:00`` spans midnight."""

    start: time
    end: time  # time(0, 0) with start > end, or 24:00 written as end = time.max

    def open_at(self, local: datetime) -> bool:
        t = local.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def intervals(self, day: date, tz: object) -> list[tuple[datetime, datetime]]:
        """The open stretches of ``day`` (local), in order."""
        midnight = datetime.combine(day, time(0), tzinfo=tz)  # type: ignore[arg-type]
        nxt = midnight + timedelta(days=1)
        start = datetime.combine(day, self.start, tzinfo=tz)  # type: ignore[arg-type]
        end = nxt if self.end == time.max else datetime.combine(day, self.end, tzinfo=tz)  # type: ignore[arg-type]
        if self.start <= self.end or self.end == time.max:
            return [(start, end)]
        return [(midnight, end), (start, nxt)]

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def parse_window(text: str) -> Window:
    """``07:00-23:00`` -> :class:`Window`; raises ValueError with what to write instead."""
    m = _WINDOW.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a window: write HH:MM-HH:MM, e.g. 07:00-23:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h2 == 24 and m2:
        raise ValueError(f"{text!r}: the day ends at 24:00")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if start == end:
        raise ValueError(f"{text!r} is empty: a window needs two different times")
    return Window(start, end)
