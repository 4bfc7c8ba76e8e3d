"""Two-person approval end to end: a broadcast created through the API (``gateway serve`` on
127.0.0.1) beside the real daemon on emulated modems. While it waits for approval the pacer
sends nothing, round after round; once a second supervisor approves it, every recipient's
phone gets the notice in their language, once."""

from __future__ import annotations

import dataclasses

from gateway.broadcast.contacts import Contact
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving

PEOPLE = [Contact("+989125000001", language="fa"), Contact("+989125000002", language="fa"),
          Contact("+447700900001", language="en")]  # fmt: skip
OUTAGE = {"template": "outage", "vars": {"area": "North", "area.fa": "شمال", "eta": "18:00"}, "groups": ["north"]}


def _received(h: Harness) -> dict[str, list[str]]:
    """What the modems were asked to send to each number (decoded, parts joined)."""
    out: dict[str, list[str]] = {}
    for e in h.emulators:
        for m in e.sent:
            out.setdefault(m.number, []).append(m.text)
    return out


async def test_a_pending_broadcast_sends_nothing_until_a_second_supervisor_approves_it(harness: Harness) -> None:
    config = harness.configure(web=dataclasses.replace(harness.config.web, broadcast_approval=True))
    await harness.start()
    await harness.store.upsert_contacts(PEOPLE, "north")
    async with serving(config) as api:
        sara, reza = await api.as_role("supervisor", "sara"), await api.as_role("supervisor", "reza")
        made = await api.send("POST", "/api/v1/broadcasts", role=None, json=OUTAGE, headers=sara)
        assert made.status_code == 201 and made.json()["status"] == "pending_approval", made.text
        cid, texts = made.json()["campaign"], made.json()["texts"]

        await harness.rounds("campaigns", 5)  # the pacer looked at it five times
        assert _received(harness) == {}
        held = await harness.sql(f"SELECT status, COUNT(*) FROM outbox WHERE campaign_id = {cid} GROUP BY status")
        assert held == [("held", 3)]

        approved = await api.send("POST", f"/api/v1/broadcasts/{cid}/approve", role=None, headers=reza)
        assert approved.status_code == 200 and approved.json()["approved_by"] == "reza"

        async def done() -> bool:
            return (await api.get(f"/api/v1/broadcasts/{cid}", role="supervisor")).json()["status"] == "done"

        await eventually(done, timeout=30)
        assert _received(harness) == {
            "+989125000001": [texts["fa"]["text"]],
            "+989125000002": [texts["fa"]["text"]],
            "+447700900001": [texts["en"]["text"]],
        }
        assert "شمال" in texts["fa"]["text"] and texts["en"]["text"].startswith("Power outage in North.")
        shown = (await api.get(f"/api/v1/broadcasts/{cid}", role="supervisor")).json()
        assert (shown["sent"], shown["remaining"], shown["created_by"]) == (3, 0, "sara")
