"""``GET /api/v1/messages``, ``/messages/{id}``, ``/outbox/{id}``, ``/threads/{phone}`` and
``/sims`` over real HTTP on a real SQLite file: the CLI's ``--json`` fields, filters, and who
may read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store import Store
from tests.gateway.web.api import Api
from tests.gateway.web.seed import make_ticket

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PERSIAN, OTHER = "+989121110001", "+989121110002"


async def _seed(api: Api) -> None:
    """Two customers' tickets, then a reply to the first through the API."""
    async with await Store.open(api.config.database_path, site="12") as store:
        await make_ticket(store, PERSIAN, "قطع ۴۸۲۱۳", at=EPOCH)
        await make_ticket(store, OTHER, "no water", category="water", at=EPOCH + timedelta(hours=1))
    r = await api.send("POST", "/api/v1/tickets/12-000001/replies", json={"text": "گروه فنی در راه است."})
    assert r.status_code == 201, r.text


async def test_messages_list_newest_first_with_how_each_was_routed(api: Api) -> None:
    await _seed(api)
    r = await api.get("/api/v1/messages")
    assert r.status_code == 200, r.text
    listed = r.json()["messages"]
    assert [m["id"] for m in listed] == ["out-1", "in-2", "in-1"]  # the reply was queued now: newest
    reply, water, outage = listed
    assert outage["phone"] == PERSIAN and outage["text"] == "قطع ۴۸۲۱۳" and outage["ticket"] == "12-000001"
    assert outage["routed"] == "opened 12-000001; not answered"  # by the gateway: a hand reply answers the ticket
    assert outage["replies"] == [] and outage["message_id"] == 1 and outage["modem"] == "m1"
    assert (reply["direction"], reply["lane"], reply["status"]) == ("out", "reply", "queued")
    assert reply["ticket"] == "12-000001" and reply["outbox_id"] == 1
    assert water["routed"] == "opened 12-000002; not answered"

    mine = await api.get("/api/v1/messages", params={"phone": "۰۹۱۲ ۱۱۱ ۰۰۰۱"})  # as a person types it
    assert [m["id"] for m in mine.json()["messages"]] == ["out-1", "in-1"]
    received = await api.get("/api/v1/messages", params={"direction": "in", "limit": 1})
    assert [m["id"] for m in received.json()["messages"]] == ["in-2"]
    since = await api.get("/api/v1/messages", params={"direction": "in", "since": "2026-11-01T08:30:00"})
    assert [m["id"] for m in since.json()["messages"]] == ["in-2"]
    for params, field in (
        ({"phone": "not a phone"}, "phone"),
        ({"direction": "sideways"}, "direction"),
        ({"since": "yesterday"}, "since"),
        ({"limit": 501}, "limit"),
    ):
        bad = await api.get("/api/v1/messages", params=params)
        assert bad.status_code == 422 and bad.json()["field"] == field, (params, bad.text)


async def test_one_message_an_outbox_row_and_a_phone_s_thread(api: Api) -> None:
    await _seed(api)
    received = await api.get("/api/v1/messages/in-1")
    assert received.status_code == 200
    assert received.json()["text"] == "قطع ۴۸۲۱۳" and received.json()["answered_by"] == []
    persian_digits = await api.get("/api/v1/messages/in-۱")
    assert persian_digits.status_code == 200 and persian_digits.json()["id"] == "in-1"

    out = await api.get("/api/v1/messages/out-1")
    assert out.status_code == 200 and out.json()["id"] == 1 and out.json()["text"] == "گروه فنی در راه است."
    for path in ("/api/v1/outbox/1", "/api/v1/outbox/out-1"):
        row = await api.get(path)
        assert row.status_code == 200 and row.json() == out.json()
    body = row.json()
    assert (body["status"], body["lane"], body["ticket"], body["answers"]) == ("queued", "reply", "12-000001", None)
    assert body["phone"] == PERSIAN and body["sent_parts"] == [] and body["delivered_at"] is None

    thread = await api.get(f"/api/v1/threads/{PERSIAN}")
    assert thread.status_code == 200
    assert thread.json()["phone"] == PERSIAN and thread.json()["opted_out"] is False
    assert [t["ref"] for t in thread.json()["tickets"]] == ["12-000001"]
    assert [m["id"] for m in thread.json()["messages"]] == ["in-1", "out-1"]  # oldest first
    assert (await api.get("/api/v1/threads/09121110001")).json() == thread.json()

    for path, status, field in (
        ("/api/v1/messages/in-99", 404, None),
        ("/api/v1/messages/out-99", 404, None),
        ("/api/v1/outbox/99", 404, None),
        ("/api/v1/messages/12", 422, "id"),
        ("/api/v1/outbox/in-1", 422, "id"),
        ("/api/v1/threads/hello", 422, "phone"),
    ):
        r = await api.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json().get("field") == field
        assert "gateway.db" not in r.json()["detail"]  # no path of the server's disk


async def test_who_may_read_messages_and_sims(api: Api) -> None:
    await _seed(api)
    paths = ("/api/v1/messages", "/api/v1/messages/in-1", "/api/v1/outbox/1", f"/api/v1/threads/{PERSIAN}")
    for path in (*paths, "/api/v1/sims"):
        anonymous = await api.get(path, role=None)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
        assert "قطع" not in anonymous.text and PERSIAN not in anonymous.text  # no customer data
        for role in ("agent", "supervisor", "admin"):
            r = await api.get(path, role=role)
            assert r.status_code == 200, (path, role, r.text)
    for path in paths:  # another system reads messages ...
        r = await api.get(path, role="integration")
        assert r.status_code == 200, (path, r.text)
    sims = await api.get("/api/v1/sims", role="integration")  # ... but not the SIMs
    assert sims.status_code == 403 and "may not" in sims.json()["detail"]
    assert (await api.get("/api/v1/sims")).json() == {"sims": []}  # no daemon ever ran here
