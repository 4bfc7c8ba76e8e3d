"""``/api/v1/optouts`` and ``/api/v1/contacts`` over real HTTP on a real SQLite file: a
supervisor opts a phone out (its waiting broadcast is cancelled) and back in, finds contacts
and removes one; each write is in the audit log by the token's name; agents and integrations
are refused."""

from __future__ import annotations

from typing import Any

from gateway.broadcast.contacts import Contact
from gateway.store import Store
from tests.gateway.web.api import Api

PEOPLE = [
    Contact("+989125000001", name="Sara Ahmadi", language="fa", area="north", account="48213"),
    Contact("+989125000002", name="Reza Karimi", language="fa", area="south"),
    Contact("+447700900001", name="Anna Smith", language="en", area="north"),
]


async def _contacts(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")


async def _audit(api: Api) -> list[dict[str, Any]]:
    async with await Store.open(api.config.database_path, site="12") as store:
        return [e.as_json() for e in reversed(await store.audit_entries())]


async def test_agents_and_integrations_may_not_touch_opt_outs_or_contacts(api: Api) -> None:
    for role in ("agent", "integration"):
        for method, path in (("GET", "/api/v1/optouts"), ("POST", "/api/v1/optouts"),
                             ("DELETE", "/api/v1/optouts/09121234567"), ("GET", "/api/v1/contacts"),
                             ("DELETE", "/api/v1/contacts/09121234567")):  # fmt: skip
            r = await api.send(method, path, role=role, json={"bad": True} if method == "POST" else None)
            assert r.status_code == 403, (role, method, path, r.text)
    assert (await api.send("GET", "/api/v1/contacts", role=None)).status_code == 401
    assert (await api.get("/api/v1/optouts", role="supervisor")).json() == {"optouts": []}


async def test_a_supervisor_opts_a_phone_out_which_cancels_its_broadcast_then_in_again(api: Api) -> None:
    await _contacts(api)
    made = await api.send(
        "POST", "/api/v1/broadcasts", role="supervisor",
        json={"template": "outage", "vars": {"area": "North", "eta": "18:00"}, "groups": ["north"]},
    )  # fmt: skip
    assert made.status_code == 201
    added = await api.send("POST", "/api/v1/optouts", role="supervisor", json={"phone": "0912 500 0001"})
    assert added.status_code == 201, added.text
    assert added.json()["phone"] == "+989125000001" and added.json()["cancelled"] == 1
    async with await Store.open(api.config.database_path, site="12") as store:
        counts = await store.campaign_counts(made.json()["campaign"])
    assert counts == {"held": 2, "cancelled": 1}  # Sara's message will not go; the two others' will
    listed = (await api.get("/api/v1/optouts", role="supervisor")).json()["optouts"]
    assert [o["phone"] for o in listed] == ["+989125000001"] and listed[0]["opted_out_at"]
    again = await api.send("POST", "/api/v1/optouts", role="supervisor", json={"phone": "+989125000001"})
    assert again.status_code == 409 and "opted out already" in again.json()["detail"]
    bad = await api.send("POST", "/api/v1/optouts", role="supervisor", json={"phone": "12"})
    assert bad.status_code == 422 and bad.json()["field"] == "phone"

    removed = await api.send("DELETE", "/api/v1/optouts/%2B98%20912%20500%200001", role="supervisor")
    assert removed.status_code == 200 and removed.json() == {"phone": "+989125000001", "opted_out": False}
    assert (await api.get("/api/v1/optouts", role="supervisor")).json() == {"optouts": []}
    gone = await api.send("DELETE", "/api/v1/optouts/09125000001", role="supervisor")
    assert gone.status_code == 404 and "+989125000001" in gone.json()["detail"]
    entries = [(e["actor"], e["actor_kind"], e["action"], e["target"]) for e in await _audit(api)]
    assert ("supervisor-token", "token", "optout.added", "+989125000001") in entries
    assert ("supervisor-token", "token", "optout.removed", "+989125000001") in entries


async def test_contacts_are_found_by_name_area_account_or_number_and_removed(api: Api) -> None:
    await _contacts(api)

    async def found(**params: str) -> list[str]:
        r = await api.get("/api/v1/contacts", role="supervisor", params=params)
        assert r.status_code == 200, r.text
        return [c["phone"] for c in r.json()["contacts"]]

    assert await found() == ["+447700900001", "+989125000001", "+989125000002"]
    assert await found(search="karimi") == ["+989125000002"]
    assert await found(search="48213") == ["+989125000001"]
    assert await found(search="۰۹۱۲ ۵۰۰ ۰۰۰۲") == ["+989125000002"]  # Persian digits, national format
    assert await found(search="north", group="north") == ["+447700900001", "+989125000001"]
    assert await found(search="50%") == []  # a LIKE wildcard is a character like any other
    [sara] = (await api.get("/api/v1/contacts", role="supervisor", params={"search": "Sara"})).json()["contacts"]
    assert sara == {**sara, "name": "Sara Ahmadi", "language": "fa", "area": "north", "account": "48213"}
    missing = await api.get("/api/v1/contacts", role="supervisor", params={"group": "east"})
    assert missing.status_code == 404 and "no group 'east'" in missing.json()["detail"]

    r = await api.send("DELETE", "/api/v1/contacts/09125000002", role="supervisor")
    assert r.status_code == 200 and r.json() == {"phone": "+989125000002", "groups": ["north"]}
    assert await found(search="karimi") == []
    assert (await api.send("DELETE", "/api/v1/contacts/09125000002", role="supervisor")).status_code == 404
    [entry] = [e for e in await _audit(api) if e["action"] == "contact.removed"]
    assert (entry["actor"], entry["target"], entry["detail"]) == ("supervisor-token", "+989125000002",
                                                                 {"groups": ["north"]})  # fmt: skip
