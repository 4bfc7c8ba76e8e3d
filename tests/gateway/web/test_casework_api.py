"""``PATCH /api/v1/tickets/{ref}``, ``POST .../replies`` and ``POST .../notes`` over real HTTP on
a real SQLite file: what the ticket, its outbox and the audit log show after each write, and
401/403/404/409/422 where a client gets them (403 before 422)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from gateway.store import Store
from tests.gateway.harness import sql_file
from tests.gateway.web.api import Api
from tests.gateway.web.seed import make_ticket

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PERSIAN, ARABIC = "+989121110001", "+9647701110002"
RESOLVED_FA = "گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۱ رسیدگی شد. سپاس از صبوری شما."


async def _tickets(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        await make_ticket(store, PERSIAN, "قطع ۴۸۲۱۳", at=EPOCH)
        await make_ticket(store, ARABIC, "انقطاع ٥٥٥٥٥", language="ar", at=EPOCH)


async def _audit(api: Api, actor: str) -> list[dict[str, Any]]:
    async with await Store.open(api.config.database_path, site="12") as store:
        return [e.as_json() for e in reversed(await store.audit_entries(actor=actor))]


async def _outbox(api: Api) -> list[tuple[Any, ...]]:
    sql = "SELECT id, phone, text, lane, modem_hint, ticket_id FROM outbox ORDER BY id"
    return await asyncio.to_thread(sql_file, api.config.database_path, sql)


async def test_an_agent_resolves_notes_and_assigns_a_ticket_and_each_write_is_audited(api: Api) -> None:
    await _tickets(api)
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "in_progress"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ref"] == "12-000001" and body["status"] == "in_progress"
    assert [(h["action"], h["from"], h["to"], h["by"]) for h in body["history"]] == [
        ("status", "open", "in_progress", "agent-token")
    ]
    assert body["thread"][0]["text"] == "قطع ۴۸۲۱۳"  # as GET shows it
    assert (await api.get("/api/v1/tickets/12-000001")).json() == body

    r = await api.send("PATCH", "/api/v1/tickets/۱۲-۰۰۰۰۰۱", json={"status": "resolved", "note": " cable replaced "})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["notes"] == [{"at": r.json()["history"][1]["at"], "by": "agent-token", "text": "cable replaced"}]
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"note": "customer called again"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert [n["text"] for n in r.json()["notes"]] == ["cable replaced", "customer called again"]
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"assigned_to": "sara", "status": "closed"})
    assert r.status_code == 200 and r.json()["assigned_to"] == "sara" and r.json()["status"] == "closed"
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "open"}, role="supervisor")
    assert r.status_code == 200 and r.json()["status"] == "open"  # a closed ticket may be reopened, by any role
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"assigned_to": None})
    assert r.status_code == 200 and r.json()["assigned_to"] is None

    history = [(h["action"], h["from"], h["to"], h["by"]) for h in r.json()["history"]]
    assert history == [
        ("status", "open", "in_progress", "agent-token"),
        ("status", "in_progress", "resolved", "agent-token"),
        ("note", None, None, "agent-token"),
        ("status", "resolved", "closed", "agent-token"),
        ("assign", None, "sara", "agent-token"),
        ("status", "closed", "open", "supervisor-token"),
        ("assign", "sara", None, "agent-token"),
    ]
    audit = await _audit(api, "agent-token")
    assert [(e["action"], e["target"], e["actor_kind"], e["address"]) for e in audit] == [
        ("ticket.status_changed", "12-000001", "token", "127.0.0.1"),
        ("ticket.status_changed", "12-000001", "token", "127.0.0.1"),
        ("ticket.noted", "12-000001", "token", "127.0.0.1"),
        ("ticket.status_changed", "12-000001", "token", "127.0.0.1"),
        ("ticket.assigned", "12-000001", "token", "127.0.0.1"),
        ("ticket.assigned", "12-000001", "token", "127.0.0.1"),
    ]
    assert [(e["action"], e["detail"]["to"]) for e in await _audit(api, "supervisor-token")] == [
        ("ticket.status_changed", "open")
    ]
    assert await _outbox(api) == []  # no customer was texted


async def test_notify_queues_the_status_s_words_in_the_customer_s_language_and_digits(api: Api) -> None:
    await _tickets(api)
    r = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "resolved", "notify": True})
    assert r.status_code == 200, r.text
    [told] = [h for h in r.json()["history"] if h["action"] == "status"]
    assert told["outbox_id"] == 1
    r = await api.send("PATCH", "/api/v1/tickets/12-000002", json={"status": "in_progress", "notify": True})
    assert r.status_code == 200, r.text
    ticket_ids = {t["ref"]: t["id"] for t in (await api.get("/api/v1/tickets")).json()["tickets"]}
    assert await _outbox(api) == [
        (1, PERSIAN, RESOLVED_FA, "reply", "m1", ticket_ids["12-000001"]),
        (2, ARABIC, "يجري العمل على بلاغ انقطاع رقم ١٢-٠٠٠٠٠٢.", "reply", "m1", ticket_ids["12-000002"]),
    ]
    [entry] = [e for e in await _audit(api, "agent-token") if e["target"] == "12-000001"]
    assert entry["detail"] == {"from": "open", "to": "resolved", "history_id": 1, "outbox_id": 1}


async def test_a_reply_and_a_note_answer_201_with_what_was_queued(api: Api) -> None:
    await _tickets(api)
    r = await api.send("POST", "/api/v1/tickets/12-000001/replies", json={"text": "گروه فنی در راه است."})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ref"] == "12-000001" and body["action"] == "reply" and body["by"] == "agent-token"
    assert (body["outbox_id"], body["language"], body["parts"], body["encoding"]) == (1, "fa", 1, "ucs2")
    assert (body["sim"], body["customer_sim"], body["customer_sim_state"]) == ("m1", "m1", None)
    assert r.headers["location"] == "/api/v1/outbox/1"
    r = await api.send(
        "POST", "/api/v1/tickets/12-000002/replies", json={"template": "restored", "vars": {"area": "الشمال"}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["language"] == "ar" and r.json()["template"] == "restored" and "الشمال" in r.json()["text"]
    long = "گروه فنی در راه است. " * 5  # two UCS-2 parts: over reply_max_parts = 1
    refused = await api.send("POST", "/api/v1/tickets/12-000001/replies", json={"text": long})
    assert refused.status_code == 422 and refused.json()["field"] == "text"
    assert "2 SMS parts" in refused.json()["detail"] and '"force": true' in refused.json()["detail"]
    forced = await api.send("POST", "/api/v1/tickets/12-000001/replies", json={"text": long, "force": True})
    assert forced.status_code == 201 and forced.json()["parts"] == 2

    note = await api.send("POST", "/api/v1/tickets/12-000001/notes", json={"text": "the whole street is dark"})
    assert note.status_code == 201, note.text
    assert note.json() == {
        "ref": "12-000001", "id": note.json()["id"], "at": note.json()["at"], "by": "agent-token", "action": "note",
        "from": None, "to": None, "note": "the whole street is dark", "outbox_id": None, "notice": None,
    }  # fmt: skip
    assert [(o[0], o[1]) for o in await _outbox(api)] == [(1, PERSIAN), (2, ARABIC), (3, PERSIAN)]
    audit = await _audit(api, "agent-token")
    assert [(e["action"], e["target"], e["address"]) for e in audit] == [
        ("ticket.replied", "12-000001", "127.0.0.1"),
        ("ticket.replied", "12-000002", "127.0.0.1"),
        ("ticket.replied", "12-000001", "127.0.0.1"),
        ("ticket.noted", "12-000001", "127.0.0.1"),
    ]


async def test_roles_without_the_right_get_403_before_their_body_is_read(api: Api) -> None:
    await _tickets(api)
    writes = (
        ("PATCH", "/api/v1/tickets/12-000001", {"status": "resolved"}, "modify tickets"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "hi"}, "text"),
        ("POST", "/api/v1/tickets/12-000001/notes", {"text": "hi"}, "note"),
    )
    for method, path, good, _ in writes:
        anonymous = await api.send(method, path, role=None, json=good)
        assert anonymous.status_code == 401, path
        denied = await api.send(method, path, role="integration", json=good)
        assert denied.status_code == 403, path
        assert denied.headers["content-type"] == "application/problem+json"
        assert "integration-token (integration) may not" in denied.json()["detail"]
        bad = await api.send(method, path, role="integration", json={"status": 7, "text": 7})
        assert bad.status_code == 403, path  # not 422: it learns nothing about its body
        garbage = await api.send(method, path, role=None, content=b"{not json")
        assert garbage.status_code == 401
    for role in ("agent", "supervisor", "admin"):
        r = await api.send("POST", "/api/v1/tickets/12-000001/notes", role=role, json={"text": f"by {role}"})
        assert r.status_code == 201, (role, r.text)
    for role in ("agent", "supervisor"):  # a person works tickets; only integrations and admins text any number
        r = await api.send("POST", "/api/v1/messages", role=role, json={"to": PERSIAN, "text": 7})
        assert r.status_code == 403, (role, r.text)
    assert await _audit(api, "integration-token") == []
    assert await _outbox(api) == []


async def test_a_bad_body_names_its_field(api: Api) -> None:
    await _tickets(api)
    cases: list[tuple[str, str, Any, str]] = [
        ("PATCH", "/api/v1/tickets/12-000001", {"status": "done"}, "status"),
        ("PATCH", "/api/v1/tickets/12-000001", {"notify": True}, "notify"),
        ("PATCH", "/api/v1/tickets/12-000001", {"note": "   "}, "note"),
        ("PATCH", "/api/v1/tickets/12-000001", {"note": "x" * 1001}, "note"),
        ("PATCH", "/api/v1/tickets/12-000001", {"assigned_to": "crm"}, "assigned_to"),
        ("PATCH", "/api/v1/tickets/12-000001", {"notify": "yes", "status": "resolved"}, "notify"),
        ("PATCH", "/api/v1/tickets/12-000001", {"colour": "red"}, "colour"),
        ("PATCH", "/api/v1/tickets/12-000001", {}, "body"),
        ("PATCH", "/api/v1/tickets/12-000001", ["status"], "body"),
        ("POST", "/api/v1/tickets/12-000001/replies", {}, "text"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "a", "template": "restored"}, "text"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "  "}, "text"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "a\x07b"}, "text"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "a", "vars": {"x": "y"}}, "vars"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"template": "no-such-notice"}, "template"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"template": "restored"}, "vars"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"template": "restored", "vars": {"area": 3}}, "vars.area"),
        ("POST", "/api/v1/tickets/12-000001/replies", {"template": "restored", "vars": {"ref": "1"}}, "vars"),
        ("POST", "/api/v1/tickets/12-000001/notes", {}, "text"),
        ("POST", "/api/v1/tickets/12-000001/notes", {"text": ""}, "text"),
    ]
    for method, path, body, field in cases:
        r = await api.send(method, path, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field, (body, r.json())
        assert field in r.json()["detail"], r.json()
    missing = await api.send("PATCH", "/api/v1/tickets/12-999999", json={"status": "resolved"})
    assert missing.status_code == 404 and "12-999999" in missing.json()["detail"]
    assert "gateway.db" not in missing.json()["detail"]  # no path of the server's disk
    for path in ("/api/v1/tickets/12-999999/replies", "/api/v1/tickets/12-999999/notes"):
        assert (await api.send("POST", path, json={"text": "hi"})).status_code == 404
    shown = (await api.get("/api/v1/tickets/12-000001")).json()
    assert shown["history"] == [] and shown["status"] == "open"  # nothing refused was written
    assert await _outbox(api) == []


async def test_a_change_another_agent_already_made_is_a_conflict(api: Api) -> None:
    await _tickets(api)
    first = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "resolved", "assigned_to": "sara"})
    assert first.status_code == 200
    again = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "resolved", "note": "done"})
    assert again.status_code == 409 and again.json()["field"] == "status"
    assert "already resolved" in again.json()["detail"]
    same = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"assigned_to": "sara"}, role="supervisor")
    assert same.status_code == 409 and same.json()["field"] == "assigned_to"
    shown = (await api.get("/api/v1/tickets/12-000001")).json()
    assert [h["action"] for h in shown["history"]] == ["status", "assign"] and shown["notes"] == []


async def test_the_openapi_document_shows_each_write_s_body(api: Api) -> None:
    paths = (await api.client.get("/api/v1/openapi.json")).json()["paths"]
    patch = paths["/api/v1/tickets/{ref}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"status", "note", "assigned_to", "notify"} <= set(patch["properties"])
    replies = paths["/api/v1/tickets/{ref}/replies"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"text", "template", "vars", "force"} <= set(replies["properties"])
    assert "post" in paths["/api/v1/tickets/{ref}/notes"]
    for path in ("/api/v1/messages", "/api/v1/messages/{message_id}", "/api/v1/outbox/{outbox_id}",
                 "/api/v1/threads/{phone}", "/api/v1/sims"):  # fmt: skip
        assert "get" in paths[path], path


async def test_if_match_refuses_a_change_to_a_ticket_someone_changed_since_it_was_read(api: Api) -> None:
    await _tickets(api)
    read = await api.get("/api/v1/tickets/12-000001")
    etag = read.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert (await api.get("/api/v1/tickets/12-000001")).headers["etag"] == etag  # reading changes nothing
    # another agent notes it meanwhile: the first agent's change, made on what they read, is refused
    other = await api.send("POST", "/api/v1/tickets/12-000001/notes", role="supervisor", json={"text": "on it"})
    assert other.status_code == 201
    stale = {"If-Match": etag}
    for method, path, body in (
        ("PATCH", "/api/v1/tickets/12-000001", {"status": "closed"}),
        ("POST", "/api/v1/tickets/12-000001/replies", {"text": "closed, thanks"}),
        ("POST", "/api/v1/tickets/12-000001/notes", {"text": "closing"}),
    ):
        r = await api.send(method, path, json=body, headers=stale)
        assert r.status_code == 409, (path, r.text)
        assert "changed since it was read" in r.json()["detail"]
    fresh = await api.get("/api/v1/tickets/12-000001")
    assert [h["by"] for h in fresh.json()["history"]] == ["supervisor-token"] and await _outbox(api) == []
    done = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "closed"},
                          headers={"If-Match": f'W/"x", {fresh.headers["etag"]}'})  # fmt: skip
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert done.headers["etag"] == (await api.get("/api/v1/tickets/12-000001")).headers["etag"] != fresh.headers["etag"]
    anyway = await api.send("PATCH", "/api/v1/tickets/12-000001", json={"status": "open"}, headers={"If-Match": "*"})
    assert anyway.status_code == 200
