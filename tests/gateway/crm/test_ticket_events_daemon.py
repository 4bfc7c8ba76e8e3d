"""The desk's changes reach the CRM from the daemon's sync loop: woken by the change while the
link is up, and when the link returns (the loop's clock moved by the test, not waited for)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.conversation.keywords import load_catalogue
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import SyncService
from gateway.lockfile import holder_name
from gateway.runtime import Runtime, SteppedClock
from gateway.store import STORE_ERRORS, Store
from tests.gateway.crm.test_sync import config
from tests.gateway.harness import eventually
from tests.gateway.make_tickets import open_tickets

CAT = load_catalogue()


async def test_a_desk_change_wakes_the_syncer_and_one_made_offline_goes_when_the_link_returns(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    clock = SteppedClock()
    cfg = config(tmp_path, stub, pull_interval=600.0, probe_interval=60.0, timeout=5.0)
    svc = SyncService(store, cfg, CAT, holder=holder_name("daemon"), clock=clock, retry_base=0.05)
    runtime = Runtime(clock, retry_on=STORE_ERRORS)
    runtime.add(svc, svc.intervals, should_wake=svc.worth_waking)
    [t] = await open_tickets(store, 1)
    runtime.start()
    try:
        await eventually(lambda: _synced(store), timeout=30)
        # link up: the change wakes the loop (as another writer's change does in the daemon), no 600 s wait
        await store.change_ticket_status(t.id, "in_progress", expected="open", actor="sara")
        runtime.wake("crm-sync")
        await eventually(lambda: _held(stub, 1), timeout=30)

        stub.down()  # apart: the next change cannot go
        await store.add_ticket_note(t.id, "crew on the way", actor="reza")
        runtime.wake("crm-sync")
        await eventually(lambda: _link(store, "down"), timeout=30)
        assert (await store.event_counts())["events_pending"] == 1
        stub.up()
        await asyncio.sleep(0)
        assert len(stub.ticket_events()) == 1  # nothing goes before the next probe
        clock.advance(60.0)  # the probe interval passes: the link is back, the note goes
        await eventually(lambda: _held(stub, 2), timeout=30)
        await eventually(lambda: _none_pending(store), timeout=30)  # ... and its answer is taken in
    finally:
        await asyncio.wait_for(runtime.stop(), 30)
    held = stub.ticket_events()
    assert [(e["type"], e["by"]) for e in held] == [("status", "sara"), ("note", "reza")]
    assert {e["pushes"] for e in held} == {1}
    assert (await store.event_counts()) == {"events_pending": 0, "events_rejected": 0}


async def _none_pending(store: Store) -> bool:
    return (await store.event_counts())["events_pending"] == 0


async def _synced(store: Store) -> bool:
    return int((await store.sync_counts())["synced"]) == 1


async def _held(stub: CrmStub, n: int) -> bool:
    return len(stub.ticket_events()) == n


async def _link(store: Store, link: str) -> bool:
    return (await store.sync_state()).get("link") == link
