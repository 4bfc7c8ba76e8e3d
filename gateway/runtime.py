"""One clock for the whole daemon: the wall clock for calendars, the monotonic clock for waits.

The wall clock (UTC) says which local day it is, when a campaign's send window opens,
and what is written into the database. It can jump: an NTP correction, an RTC reset on
a box without a battery. Every "wait until" -- a SIM's per-minute window, retry
backoffs, quarantines, campaign pacing, balance checks -- is measured on the monotonic
clock, which only moves forward, so a step of the wall clock never stops a SIM.

Services take a :class:`Clock`; tests pass a :class:`SteppedClock` and move it by hand
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def wall(self) -> datetime:
        """Now, on the wall clock (aware, UTC): calendars and stamps."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never steps: waits."""
        ...


class SystemClock:
    """The machine's clocks."""

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM = SystemClock()


class WallFunction:
    """A bare wall-clock function (what services took before), with the system's monotonic clock."""

    def __init__(self, wall: Callable[[], datetime]) -> None:
        self._wall = wall

    def wall(self) -> datetime:
        return self._wall()

    def monotonic(self) -> float:
        return time.monotonic()


class SteppedClock:
    """The system clocks, moved by hand (for tests and simulations).

    :meth:`step` moves the wall clock alone, as an NTP correction does; :meth:`advance`
    moves time itself (both clocks), as if that many seconds had passed.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall_offset = (start - datetime.now(UTC)) if start is not None else timedelta(0)
        self._mono_offset = 0.0

    def wall(self) -> datetime:
        return datetime.now(UTC) + self._wall_offset

    def monotonic(self) -> float:
        return time.monotonic() + self._mono_offset

    def step(self, seconds: float) -> None:
        """The wall clock jumps (negative: back); the monotonic clock does not."""
        self._wall_offset += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """``seconds`` pass on both clocks at once."""
        self._wall_offset += timedelta(seconds=seconds)
        self._mono_offset += seconds


def as_clock(clock: Clock | Callable[[], datetime] | None) -> Clock:
    """A :class:`Clock` from a clock, a bare wall-clock function, or None (the system's)."""
    if clock is None:
        return SYSTEM
    if isinstance(clock, Clock):
        return clock
    return WallFunction(clock)


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Until ``event`` is set (True) or ``timeout`` seconds pass (False). Every service loop
    waits with this, never ``asyncio.wait_for(event.wait(), ...)``: on Python 3.11 that one
    swallows a cancellation that arrives just as the event is set, and the loop then runs
    on past the daemon's stop (seen: the SIM monitor, woken by every modem event, held a
    shutdown for its 30 s bound)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
