"""The daemon's small services on a real SQLite file: the database watch notices another
process's commit and a file swapped under it; housekeeping's first round waits its interval."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from gateway.config import Config, SiteConfig
from gateway.exceptions import DatabaseReplaced
from gateway.ops.housekeeping import Housekeeping
from gateway.runtime import Runtime, SteppedClock
from gateway.store import STORE_ERRORS, Store
from gateway.store.watch import DatabaseWatch
from tests.gateway.harness import eventually


def _commit_elsewhere(db: Path) -> None:
    """What `gateway send` does from another process: one committed row."""
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO sync_state (key, value) VALUES ('request_at', 'now')")
    conn.commit()
    conn.close()


async def test_the_watch_wakes_on_another_process_commit_and_stops_on_a_swapped_file(store: Store) -> None:
    clock = SteppedClock()
    changes: list[int] = []
    replaced: list[DatabaseReplaced] = []
    watch = DatabaseWatch(store, on_change=lambda: changes.append(1), on_replaced=replaced.append, interval=60.0)
    runtime = Runtime(clock, retry_on=STORE_ERRORS)
    loop = runtime.add(watch, watch.intervals)
    runtime.start()
    try:
        await eventually(lambda: loop.rounds >= 1)
        assert changes == [] and replaced == []
        await asyncio.to_thread(_commit_elsewhere, store.path)
        clock.advance(60.0)  # its next look
        await eventually(lambda: changes == [1])
        moved = store.path.with_suffix(".old")
        os.replace(store.path, moved)  # a restore or a cleanup script under a running daemon
        Path(store.path).write_bytes(moved.read_bytes())
        clock.advance(60.0)
        await eventually(lambda: len(replaced) >= 1)
        assert "replaced" in str(replaced[0])
    finally:
        await asyncio.wait_for(runtime.stop(), 10)


class CountingIntake:
    """Intake as housekeeping sees it: counts the rounds that looked for lost parts."""

    def __init__(self) -> None:
        self.looked = 0

    async def release_incomplete(self) -> None:
        self.looked += 1

    async def route_waiting(self) -> None:
        return None


async def test_housekeeping_looks_one_interval_after_start_then_every_interval(tmp_path: Path, store: Store) -> None:
    clock = SteppedClock()
    intake = CountingIntake()
    config = Config(site=SiteConfig(id="12")).with_database(tmp_path / "gw.db")
    housekeeping = Housekeeping(store, intake, config, clock, interval=10.0)  # type: ignore[arg-type]
    assert housekeeping.intervals.idle == min(10.0, config.receive.concat_timeout / 2)
    runtime = Runtime(clock, retry_on=STORE_ERRORS)
    loop = runtime.add(housekeeping, housekeeping.intervals)
    runtime.start()
    try:
        await eventually(lambda: loop.rounds >= 1)
        assert intake.looked == 0  # start-up routed what was waiting; the first look is an interval later
        for looks in (1, 2):
            clock.advance(10.0)
            await eventually(lambda n=looks: intake.looked == n)  # type: ignore[misc]
    finally:
        await asyncio.wait_for(runtime.stop(), 10)
