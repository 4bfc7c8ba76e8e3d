"""The runtime: a stepped clock ends waits when it is moved; the one service loop wakes, waits,
backs off after database errors, restarts a loop that fails and stops within its bounds."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from gateway.runtime import BaseService, Intervals, Runtime, SteppedClock, Tasks, every, retry_store
from tests.gateway.harness import eventually

HOUR = 3600.0


async def test_advancing_the_clock_ends_the_waits_whose_time_has_come() -> None:
    clock = SteppedClock()
    event = asyncio.Event()
    soon = asyncio.create_task(clock.wait(event, 60))
    late = asyncio.create_task(clock.wait(event, HOUR))
    sleeper = asyncio.create_task(clock.sleep(90))
    await asyncio.sleep(0)
    clock.advance(61)
    assert await asyncio.wait_for(soon, 5) is False  # its minute is over
    assert not late.done() and not sleeper.done()
    clock.advance(30)
    await asyncio.wait_for(sleeper, 5)
    event.set()
    assert await asyncio.wait_for(late, 5) is True
    clock.step(-HOUR)  # the wall clock alone: no wait ends
    assert await clock.wait(asyncio.Event(), 0.01) is False


async def test_a_cancelled_wait_on_the_stepped_clock_is_passed_on() -> None:
    clock = SteppedClock()
    event = asyncio.Event()
    waiting = asyncio.create_task(clock.wait(event, 10))
    await asyncio.sleep(0)
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_every_is_due_at_first_and_then_once_per_interval() -> None:
    clock = SteppedClock()
    due = every(30, clock)
    assert due() and not due()
    clock.advance(29)
    assert not due()
    clock.advance(1)
    assert due() and not due()


class Counting(BaseService):
    """A service that counts its rounds and asks for the wait it is told."""

    name = "counting"

    def __init__(self, wait: float | None = None, fail: list[BaseException] | None = None) -> None:
        super().__init__()
        self.rounds = 0
        self.wait = wait
        self.fail = fail or []
        self.started = self.stopped = 0

    async def start(self) -> None:
        self.started += 1

    async def step(self) -> float | None:
        self.rounds += 1
        if self.fail:
            raise self.fail.pop(0)
        return self.wait

    async def stop(self) -> None:
        self.stopped += 1


async def test_a_loop_waits_its_interval_on_the_clock_or_until_woken() -> None:
    clock = SteppedClock()
    runtime = Runtime(clock)
    service = Counting()
    loop = runtime.add(service, Intervals(idle=HOUR))
    runtime.start()
    await eventually(lambda: service.rounds == 1)
    clock.advance(HOUR)  # the idle hour passes
    await eventually(lambda: service.rounds == 2)
    runtime.wake("counting")
    await eventually(lambda: service.rounds == 3)
    assert loop.rounds == 3 and runtime.alive() == {"counting": True}
    await asyncio.wait_for(runtime.stop(), 5)
    assert (service.started, service.stopped) == (1, 1) and runtime.alive() == {"counting": False}


async def test_a_wake_the_service_does_not_want_leaves_it_asleep() -> None:
    clock = SteppedClock()
    runtime = Runtime(clock)
    service = Counting(wait=HOUR)
    wanted = False

    async def should_wake() -> bool:
        return wanted

    runtime.add(service, Intervals(), should_wake=should_wake)
    runtime.start()
    await eventually(lambda: service.rounds == 1)
    for _ in range(3):
        runtime.wake("counting")
        await asyncio.sleep(0.01)
    assert service.rounds == 1
    wanted = True
    runtime.wake("counting")
    await eventually(lambda: service.rounds == 2)
    await asyncio.wait_for(runtime.stop(), 5)


async def test_database_errors_back_off_and_other_errors_restart_the_loop() -> None:
    clock = SteppedClock()
    runtime = Runtime(clock, retry_on=(sqlite3.Error,))
    service = Counting(wait=HOUR, fail=[sqlite3.OperationalError("database is locked"), RuntimeError("a defect")])
    runtime.add(service, Intervals(retry_base=10.0, retry_cap=10.0))
    runtime.start()
    await eventually(lambda: service.rounds == 1)
    clock.advance(10)  # the backoff after the locked database
    await eventually(lambda: service.rounds == 2)  # the defect: the loop ended
    clock.advance(1)  # restarted a second later
    await eventually(lambda: service.rounds == 3)
    assert service.started == 1 and runtime.alive() == {"counting": True}
    await asyncio.wait_for(runtime.stop(), 5)


async def test_retry_store_writes_until_the_database_takes_it() -> None:
    clock = SteppedClock()
    failures = [sqlite3.OperationalError("database is locked")] * 3
    seen: list[float] = []

    async def write() -> str:
        if failures:
            raise failures.pop()
        return "written"

    def on_error(_exc: Exception, retry_in: float) -> None:
        seen.append(retry_in)

    writing = asyncio.create_task(
        retry_store(write, errors=(sqlite3.Error,), clock=clock, on_error=on_error, base=100.0, cap=100.0)
    )
    for attempt in range(1, 4):
        await eventually(lambda n=attempt: len(seen) == n)  # type: ignore[misc]
        clock.advance(120)  # the backoff passes
    assert await asyncio.wait_for(writing, 5) == "written" and len(seen) == 3


async def test_tasks_with_one_key_run_one_at_a_time_and_drain_is_bounded() -> None:
    tasks = Tasks()
    order: list[str] = []
    gate = asyncio.Event()

    async def work(name: str) -> None:
        order.append(name + "+")
        await gate.wait()
        order.append(name + "-")

    tasks.spawn(work("a"), key="m1")
    tasks.spawn(work("b"), key="m1")
    await asyncio.sleep(0.01)
    assert order == ["a+"] and len(tasks) == 2
    gate.set()
    await tasks.drain(5)
    assert order == ["a+", "a-", "b+", "b-"] and len(tasks) == 0
    forever = asyncio.Event()
    tasks.spawn(forever.wait())
    await asyncio.wait_for(tasks.drain(0.01), 5)  # cancelled after its bound
    assert len(tasks) == 0


class SlowRound(Counting):
    """A round that lasts until the test lets it end."""

    def __init__(self) -> None:
        super().__init__(wait=60.0)
        self.inside = asyncio.Event()
        self.finish = asyncio.Event()

    async def step(self) -> float | None:
        self.inside.set()
        await self.finish.wait()
        self.finish.clear()
        return await super().step()


async def test_the_clock_moved_while_a_round_runs_counts_against_the_wait_it_asks_for() -> None:
    clock = SteppedClock()
    runtime = Runtime(clock)
    service = SlowRound()
    runtime.add(service, Intervals())
    runtime.start()
    await asyncio.wait_for(service.inside.wait(), 5)
    service.inside.clear()
    clock.advance(60)  # the minute the round will ask to wait passes before it asks
    service.finish.set()
    await asyncio.wait_for(service.inside.wait(), 5)  # the next round at once, not a minute later
    assert service.rounds == 1
    await asyncio.wait_for(runtime.stop(), 5)
