"""A CRM that trickles its answer: the whole request has a deadline, and the sync lease is
kept while a request runs (issue 12, item 6). Real HTTP on 127.0.0.1, real SQLite files;
the lease's clock is moved by the test instead of waiting 30 s for a lease to run out."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.crm.lease import LeaseLost
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import SyncService
from gateway.exceptions import CrmUnreachable
from gateway.lockfile import holder_alive, holder_name
from gateway.runtime import SteppedClock
from gateway.store import Store, stamp
from tests.gateway.crm.test_sync import CAT, config, service
from tests.gateway.harness import eventually
from tests.gateway.make_tickets import open_tickets


async def lease(store: Store) -> tuple[str | None, str]:
    state = await store.sync_state()
    return state.get("lease_holder"), state.get("lease_until", "")


async def test_a_crm_that_trickles_its_answer_is_given_up_at_the_timeout_and_the_batch_goes_again(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    made = await open_tickets(store, 3)
    stub.set_fault("trickle", delay=0.1, count=1)  # stores the batch, then one byte of its answer every 0.1 s
    svc = service(store, config(tmp_path, stub, timeout=0.5))
    started = time.monotonic()
    with pytest.raises(CrmUnreachable, match=r"POST /tickets: no whole answer within 0\.5 s"):
        async with asyncio.timeout(20):  # a per-read timeout alone would wait out all ~300 bytes: 30 s
            await svc.cycle()
    assert time.monotonic() - started < 5.0  # 0.5 s, with room for a loaded machine
    assert (await store.sync_counts())["batches_in_flight"] == 1  # nothing acknowledged: the same batch goes again
    # the next cycle, with a timeout a loaded machine cannot miss (the same holder, so the same lease)
    report = await service(store, config(tmp_path, stub)).cycle()
    assert report.synced == 3
    held = stub.tickets()
    assert [t["id"] for t in held] == [t.id for t in made] and stub.stats()["duplicates"] == 3


async def test_the_lease_is_kept_while_a_request_runs_so_no_second_syncer_pushes_beside_it(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    await open_tickets(store, 3)
    clock = SteppedClock()
    daemon = holder_name("daemon")
    svc = SyncService(
        store, config(tmp_path, stub, timeout=10.0), CAT, holder=daemon,
        clock=clock, lease_tick=0.02,
    )  # fmt: skip
    stub.set_fault("trickle", delay=0.05, count=1)  # an answer that takes ~15 s to arrive
    push = asyncio.create_task(svc.cycle())
    try:
        await eventually(lambda: stub.stats()["accepted"] == 3)  # the request is running
        for _ in range(10):  # 100 s on the lease's clock: three times its life (30 s)
            clock.advance(10.0)
            await eventually(lambda: _lease_runs_past(store, clock.wall() + timedelta(seconds=15)), timeout=5)
            assert not push.done()
        now, mono = clock.wall(), clock.monotonic()
        assert await store.sync_lease_holder(holder_alive, now, mono) == daemon  # `sync status`: syncing daemon:...
        other = await store.take_sync_lease(holder_name("cli"), 30.0, holder_alive, now, mono)
        assert other == daemon  # `gateway sync now` asks the daemon instead of pushing the same batch
    finally:
        push.cancel()
        await asyncio.wait({push}, timeout=10)
    assert stub.stats()["requests"] == 1


async def test_a_syncer_that_lost_its_lease_mid_request_stops_at_once(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    """The lease ran out under this syncer all the same (its process stood still for longer
    than the lease) and another syncer took over: the running request is cancelled instead
    of finishing beside the other syncer's, and no further batch goes."""
    await open_tickets(store, 250)
    clock = SteppedClock()
    svc = SyncService(
        store, config(tmp_path, stub, timeout=10.0, batch_size=100), CAT, holder=holder_name("daemon"),
        clock=clock, lease_tick=0.02,
    )  # fmt: skip
    stub.set_fault("trickle", delay=0.05, count=1)
    push = asyncio.create_task(svc.cycle())
    try:
        await eventually(lambda: stub.stats()["accepted"] == 100)
        taker = holder_name("cli")  # another process, 31 s later by its clock: the lease ran out...
        later = clock.wall() + timedelta(seconds=31)
        assert (
            await store.take_sync_lease(taker, 30.0, holder_alive, later, clock.monotonic() + 31) is None
        )  # ...it went
        clock.advance(31.0)  # the stalled syncer runs again: its renewal is due and finds the lease gone
        with pytest.raises(LeaseLost, match="the sync lease went to cli:"):
            async with asyncio.timeout(10):
                await push
    finally:
        push.cancel()
        await asyncio.wait({push}, timeout=10)
    assert stub.stats()["requests"] == 1 and len(stub.tickets()) == 100  # the second batch never went
    assert (await lease(store))[0] == taker


async def _lease_runs_past(store: Store, when: datetime) -> bool:
    return (await lease(store))[1] > stamp(when)


async def test_a_step_of_the_wall_clock_neither_ends_a_lease_nor_keeps_a_stale_one(store: Store) -> None:
    """Issue 12, item 5: leases are waits, measured on the monotonic clock."""
    wall, mono = datetime.now(UTC), time.monotonic()
    daemon, cli = holder_name("daemon"), "cli:1"
    assert await store.take_sync_lease(daemon, 30.0, holder_alive, wall, mono) is None
    hour = timedelta(hours=1)
    # NTP steps the wall clock an hour forward 1 s later: the daemon's lease still runs
    assert await store.take_sync_lease(cli, 30.0, holder_alive, wall + hour, mono + 1) == daemon
    assert await store.sync_lease_holder(holder_alive, wall + hour, mono + 1) == daemon
    # an hour back instead: the lease still ends 30 s after it was taken, not an hour later
    assert await store.sync_lease_holder(holder_alive, wall - hour, mono + 31) is None
    assert await store.take_sync_lease(cli, 30.0, lambda _h: True, wall - hour, mono + 31) is None
