"""Service loops stop when the daemon stops: a cancellation is never lost in a wait."""

from __future__ import annotations

import asyncio

import pytest

from gateway.runtime import Intervals, wait_event
from tests.gateway.harness import Harness, eventually


async def test_a_cancellation_that_arrives_as_the_event_is_set_is_passed_on() -> None:
    """asyncio.wait_for(event.wait(), t) on Python 3.11 returns normally here, and a service
    loop built on it runs on past the daemon's stop."""
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)  # it waits
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_wait_event_says_whether_the_event_came_or_the_time_ran_out() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def test_the_daemon_stops_promptly_while_its_sims_keep_reporting(harness: Harness) -> None:
    """Every modem event wakes the SIM monitor; the stop still ends each loop at once."""
    daemon = await harness.start(intervals={"sim-monitor": Intervals(idle=15.0, coalesce=0.01)})
    assert daemon.monitor is not None
    monitor = daemon.monitor
    rounds = daemon.runtime.loops["sim-monitor"]

    async def chatter() -> None:
        while True:
            monitor.wake()
            await asyncio.sleep(0)

    noise = asyncio.create_task(chatter())
    try:
        before = rounds.rounds
        await eventually(lambda: rounds.rounds >= before + 10)  # it publishes round after round
        await asyncio.wait_for(harness.stop(), 15)  # a loop that ignores its cancel holds a step 30 s
    finally:
        noise.cancel()
