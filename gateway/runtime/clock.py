"""One clock for the whole daemon: the wall clock for calendars, the monotonic clock for waits.

The wall clock (UTC) says which local day it is, when a campaign's send window opens,
and what is written into the database. It can jump: an NTP correction, an RTC reset on
a box without a battery. Every "wait until" -- a SIM's per-minute window, retry
backoffs, quarantines, campaign pacing, balance checks -- is measured on the monotonic
clock, which only moves forward, so a step of the wall clock never stops a SIM.

Services take a :class:`Clock` and wait with its :meth:`~Clock.sleep` and
:meth:`~Clock.wait`; tests pass a :class:`SteppedClock` and move it by hand instead of
sleeping: :meth:`SteppedClock.advance` ends the waits whose time has come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


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


@runtime_checkable
class Clock(Protocol):
    def wall(self) -> datetime:
        """Now, on the wall clock (aware, UTC): calendars and stamps."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never steps: waits."""
        ...

    async def sleep(self, seconds: float) -> None:
        """``seconds`` on the monotonic clock."""
        ...

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        """Until ``event`` is set (True) or ``timeout`` monotonic seconds pass (False)."""
        ...


class SystemClock:
    """The machine's clocks."""

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        return await wait_event(event, timeout)


SYSTEM = SystemClock()


class WallFunction(SystemClock):
    """A bare wall-clock function (what services took before), with the system's monotonic clock."""

    def __init__(self, wall: Callable[[], datetime]) -> None:
        self._wall = wall

    def wall(self) -> datetime:
        return self._wall()


class SteppedClock:
    """The system clocks, moved by hand (for tests and simulations).

    :meth:`step` moves the wall clock alone, as an NTP correction does; :meth:`advance`
    moves time itself (both clocks), as if that many seconds had passed, and ends every
    :meth:`sleep` and :meth:`wait` whose time has come. Between moves both clocks run
    on with the machine's, so a service waiting on this clock behaves as on the system's.
    Move it from the event loop's thread.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall_offset = (start - datetime.now(UTC)) if start is not None else timedelta(0)
        self._mono_offset = 0.0
        self._waits: set[asyncio.Timeout] = set()

    def wall(self) -> datetime:
        return datetime.now(UTC) + self._wall_offset

    def monotonic(self) -> float:
        return time.monotonic() + self._mono_offset

    def step(self, seconds: float) -> None:
        """The wall clock jumps (negative: back); the monotonic clock does not."""
        self._wall_offset += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """``seconds`` pass on both clocks at once; waits that are over end now."""
        self._wall_offset += timedelta(seconds=seconds)
        self._mono_offset += seconds
        for wait in list(self._waits):
            when = wait.when()
            if when is not None and not wait.expired():
                wait.reschedule(when - seconds)

    async def sleep(self, seconds: float) -> None:
        await self.wait(asyncio.Event(), seconds)

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        if timeout is None or event.is_set():
            return await wait_event(event, timeout)
        try:
            async with asyncio.timeout(max(0.0, timeout)) as wait:
                self._waits.add(wait)
                try:
                    await event.wait()
                finally:
                    self._waits.discard(wait)
        except TimeoutError:
            return False
        return True


def as_clock(clock: Clock | Callable[[], datetime] | None) -> Clock:
    """A :class:`Clock` from a clock, a bare wall-clock function, or None (the system's)."""
    if clock is None:
        return SYSTEM
    if isinstance(clock, Clock):
        return clock
    return WallFunction(clock)
