"""The one wakeable loop every background service runs on, and the runtime that holds them.

A background service (the dispatcher, the broadcast pacer, the SIM monitor, USSD, CRM
sync, housekeeping, the database watch) is a :class:`Service`: ``start`` once, ``step``
one round at a time (each says how long until it wants the next), ``stop`` to drain its
own work. :class:`Loop` runs one service: a round when its time comes or when it is
woken. :class:`Runtime` holds the loops by name, restarts one that fails and stops them
in order, each stop bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import structlog

from gateway.runtime.clock import Clock
from sim_bank.backoff import backoff_delay

log = structlog.get_logger("gateway.runtime")

RESTART_FIRST = 1.0  # seconds before a failed loop runs again; doubles up to RESTART_MAX
RESTART_MAX = 60.0


class Service(Protocol):
    """One background service. ``woken`` is set (by the service itself or by whoever has
    news for it) to run a round before the wait ``step`` asked for is over."""

    name: str
    woken: asyncio.Event

    async def start(self) -> None:
        """Once, before the first round."""
        ...

    async def step(self) -> float | None:
        """One round. Returns the seconds until the next wanted round: 0 at once, None
        after the loop's idle interval (or when woken, if it has none)."""
        ...

    async def stop(self) -> None:
        """Once the loop has ended: finish or hand back the service's own work, bounded."""
        ...


@dataclass(frozen=True)
class Intervals:
    """How a loop waits; from config or the service's constructor, never a module constant."""

    idle: float | None = None  # the wait when step() says None; None: until woken
    coalesce: float = 0.0  # at least this long between two rounds, however often woken
    retry_base: float = 0.5  # after a database error escaping step(): capped backoff
    retry_cap: float = 30.0
    grace: float = 0.0  # at stop, how long a round already running may finish before it is cancelled


class BaseService:
    """What most services share: a name, the wake event, its own intervals (from its
    constructor), nothing to start or stop."""

    name = "service"
    intervals = Intervals()

    def __init__(self) -> None:
        self.woken = asyncio.Event()

    def wake(self) -> None:
        """Something changed: a round now."""
        self.woken.set()

    async def start(self) -> None:
        return None

    async def step(self) -> float | None:
        raise NotImplementedError

    async def stop(self) -> None:
        return None


class Loop:
    """One service's loop: clear the wake, one round, then wait (the coalescing gap, then the
    service's own wait or the idle interval, ended early by a wake that ``should_wake``
    accepts). A database error escaping a round is logged as ``<name>_store_error`` and
    retried with backoff; any other error ends the loop (the :class:`Runtime` restarts it).
    ``retry_on``: the database's errors (``gateway.store.STORE_ERRORS``; the runtime sits
    below the store and does not import it)."""

    def __init__(
        self,
        service: Service,
        intervals: Intervals,
        clock: Clock,
        *,
        should_wake: Callable[[], Awaitable[bool]] | None = None,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> None:
        self.service = service
        self._retry_on = retry_on
        self.intervals = intervals
        self.clock = clock
        self.rounds = 0  # rounds finished (tests wait for one more instead of sleeping)
        self._should_wake = should_wake
        self._started = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.service.name

    def wake(self) -> None:
        self.service.woken.set()

    async def run(self) -> None:
        if not self._started:
            await self.service.start()
            self._started = True
        failures = 0
        while not self._stopping:
            self.service.woken.clear()
            began, began_real = self.clock.monotonic(), time.monotonic()
            try:
                wait = await self.service.step()
                failures = 0
            except self._retry_on as exc:  # a locked or full database: wait, never give up
                failures += 1
                wait = backoff_delay(failures, base=self.intervals.retry_base, cap=self.intervals.retry_cap)
                log.error(f"{self.name.replace('-', '_')}_store_error", error=str(exc), retry_in=round(wait, 2))
            self.rounds += 1
            if self._stopping:
                break
            if wait == 0:
                await asyncio.sleep(0)  # others run between back-to-back rounds
                continue
            if wait is None:
                wait = self.intervals.idle
            if wait is not None:  # a clock moved by hand while the round ran counts against its wait
                wait -= max(0.0, (self.clock.monotonic() - began) - (time.monotonic() - began_real))
            if self.intervals.coalesce:
                await self.clock.sleep(self.intervals.coalesce)
            await self._nap(wait)

    async def _nap(self, seconds: float | None) -> None:
        deadline = None if seconds is None else self.clock.monotonic() + seconds
        while not self._stopping:
            left = None if deadline is None else deadline - self.clock.monotonic()
            if left is not None and left <= 0:
                return
            if not await self.clock.wait(self.service.woken, left):
                return
            if self._stopping or self._should_wake is None or await self._should_wake():
                return
            self.service.woken.clear()  # news this service does not act on yet: sleep on

    async def stop(self) -> None:
        """End the loop (a round running gets ``grace`` seconds), then the service's stop."""
        self._stopping = True
        self.wake()
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=self.intervals.grace)
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._started:
            self._started = False
            await self.service.stop()


class Runtime:
    """The daemon's loops, by name: started together, each restarted if it fails (1 s, then
    doubling up to a minute), woken by name, stopped in the order the daemon gives."""

    def __init__(self, clock: Clock, *, retry_on: tuple[type[Exception], ...] = ()) -> None:
        self.clock = clock
        self._retry_on = retry_on
        self.loops: dict[str, Loop] = {}
        self._running = False

    def add(
        self,
        service: Service,
        intervals: Intervals,
        *,
        should_wake: Callable[[], Awaitable[bool]] | None = None,
    ) -> Loop:
        if service.name in self.loops:
            raise ValueError(f"a service named {service.name!r} runs already")
        loop = self.loops[service.name] = Loop(
            service, intervals, self.clock, should_wake=should_wake, retry_on=self._retry_on
        )
        if self._running:
            loop._task = asyncio.create_task(self._supervised(loop), name=loop.name)
        return loop

    def wake(self, *names: str) -> None:
        for name in names:
            loop = self.loops.get(name)
            if loop is not None:
                loop.wake()

    def start(self) -> None:
        self._running = True
        for loop in self.loops.values():
            if loop._task is None:
                loop._task = asyncio.create_task(self._supervised(loop), name=loop.name)

    def alive(self) -> dict[str, bool]:
        """Each loop: whether it is running (a test's "nothing died")."""
        return {name: loop._task is not None and not loop._task.done() for name, loop in self.loops.items()}

    async def stop(self, names: Iterable[str] | None = None) -> None:
        """Stop ``names`` one after the other, in that order; None: every loop still running, together."""
        if names is None:
            self._running = False
            await asyncio.gather(*(loop.stop() for loop in self.loops.values()))
            return
        for name in names:
            loop = self.loops.get(name)
            if loop is not None:
                await loop.stop()

    async def _supervised(self, loop: Loop) -> None:
        """Run one loop for as long as the runtime runs: one that ends or fails (a defect, a
        resource gone) is logged and started again, so nothing stops silently."""
        delay = RESTART_FIRST
        while True:
            try:
                await loop.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("gateway_loop_failed", loop=loop.name, restart_in=delay)
            else:
                if loop._stopping:
                    return  # stopping: the loop ended as it should
                log.error("gateway_loop_ended", loop=loop.name, restart_in=delay)
            await self.clock.sleep(delay)
            delay = min(delay * 2, RESTART_MAX)
