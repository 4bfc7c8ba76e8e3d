"""Outages reach the reference CRM (protocol v1): each stage once by ``POST /outages``, and the
tickets linked to an outage resolved on restore as ticket events by who restored it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.broadcast.contacts import Contact
from gateway.conversation.keywords import load_catalogue
from gateway.crm.receiver import CrmStub
from gateway.inbound.routing import Routing
from gateway.outages import declare, restore, update
from gateway.runtime import WallFunction
from gateway.store import InboundItem, Store
from tests.gateway.crm.test_sync import config, service


async def test_stages_and_the_resolved_linked_ticket_reach_the_crm_once(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    cfg = config(tmp_path, stub)
    cfg = dataclasses.replace(cfg, areas={"North": ("48",)})
    now = datetime.now(UTC)
    await store.upsert_contacts([Contact("+989125000001", language="fa", area="North")], None)
    await declare(store, cfg, ["North"], cause="cable cut", eta=now + timedelta(hours=3), actor="sara", now=now)
    await store.add_inbound("m1", [InboundItem("SM", 1, "P1", "sms", sender="+989121110020", text="1 48213")])
    await Routing(store, load_catalogue(), cfg, on_reply=lambda: None, clock=WallFunction(lambda: now)).route_waiting()
    assert await store.outage_reports(1) != []
    await update(store, cfg, 1, eta=now + timedelta(hours=5), note="transformer", actor="reza", now=now)
    await restore(store, cfg, 1, notify=False, actor="sara", now=now + timedelta(hours=4))

    journal = await store.events_after(0, ["outage.declared", "outage.updated", "outage.restored"])
    assert [e.type for e in journal] == ["outage.declared", "outage.updated", "outage.restored"]  # webhooks' events
    last = json.loads(journal[-1].data)
    assert (last["outage"]["status"], last["stage"]["by"], last["outage"]["areas"]) == ("restored", "sara", ["North"])

    svc = service(store, cfg)
    async with svc.client() as crm:
        await svc.cycle(crm)
        await svc.cycle(crm)  # nothing goes twice
    held = stub.outage_events()
    assert [(e["type"], e["by"], e["outage_id"], e["pushes"]) for e in held] == [
        ("declared", "sara", "12-outage-1", 1),
        ("update", "reza", "12-outage-1", 1),
        ("restored", "sara", "12-outage-1", 1),
    ]
    assert held[0]["areas"] == ["North"] and held[0]["cause"] == "cable cut" and held[1]["note"] == "transformer"
    assert held[2]["status"] == "restored"
    [ticket] = stub.tickets()
    assert [(e["type"], e["to"], e["by"]) for e in stub.ticket_events()] == [("status", "resolved", "sara")]
    assert stub.status(ticket["id"])[:1] == ("resolved",)  # type: ignore[index]
    assert stub.stats()["outage_events_accepted"] == 3
