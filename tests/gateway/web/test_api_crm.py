"""The desk's changes made through the API reach the CRM once each: a real ``gateway serve`` on
127.0.0.1, the real syncer, the reference receiver (``gateway crm-stub``) over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.conversation.keywords import load_catalogue
from gateway.crm.push import CycleReport
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import SyncService
from gateway.lockfile import holder_name
from gateway.store import Store
from tests.gateway.crm.test_sync import config
from tests.gateway.make_tickets import open_tickets
from tests.gateway.web.api import serving

CAT = load_catalogue()


async def _cycle(tmp_path: Path, stub: CrmStub) -> CycleReport:
    """One push-and-pull cycle, as ``gateway sync now`` runs it."""
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        svc = SyncService(store, config(tmp_path, stub), CAT, holder=holder_name("test"))
        try:
            return await svc.cycle()
        finally:
            await svc.lease.release()


async def test_status_note_assignment_and_reply_made_through_the_api_reach_the_crm_once_each(
    tmp_path: Path, stub: CrmStub
) -> None:
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        [ticket] = await open_tickets(store, 1)
    assert (await _cycle(tmp_path, stub)).synced == 1
    async with serving(config(tmp_path, stub)) as api:
        path = f"/api/v1/tickets/{ticket.ref}"
        changed = await api.send("PATCH", path, role="agent", json={"status": "in_progress", "note": "crew sent"})
        assert changed.status_code == 200, changed.text
        noted = await api.send("POST", f"{path}/notes", role="agent", json={"text": "«برق» back at 18:00"})
        assert noted.status_code == 201, noted.text
        assigned = await api.send("PATCH", path, role="agent", json={"assigned_to": "reza"})
        assert assigned.status_code == 200, assigned.text
        replied = await api.send("POST", f"{path}/replies", role="agent", json={"text": "A crew is on the way."})
        assert replied.status_code == 201, replied.text
    report = await _cycle(tmp_path, stub)
    assert (report.events_sent, report.events_rejected) == (4, 0)
    held = await asyncio.to_thread(stub.ticket_events)
    assert [(e["type"], e["by"], e["ticket_id"]) for e in held] == [
        ("status", "agent-token", ticket.id),
        ("note", "agent-token", ticket.id),
        ("assign", "agent-token", ticket.id),
        ("reply", "agent-token", ticket.id),
    ]  # each under the name of the token that made it
    assert (held[0]["from"], held[0]["to"], held[0]["note"]) == ("open", "in_progress", "crew sent")
    assert held[1]["note"] == "«برق» back at 18:00" and held[2]["to"] == "reza"
    assert held[3]["text"] == "A crew is on the way."
    status, _, by = stub.status(ticket.id) or ("", "", "")
    assert (status, by) == ("in_progress", "agent-token")  # the CRM's status now
    assert (await _cycle(tmp_path, stub)).events_sent == 0  # nothing goes twice
    assert len(stub.ticket_events()) == 4
