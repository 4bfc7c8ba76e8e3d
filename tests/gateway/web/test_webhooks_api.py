"""``/api/v1/webhooks`` over real HTTP: an admin manages every hook, an integration only those
it added (another's is 404 to it), an agent none (403, before its body is read); the secret is
never shown back; each add, remove and revive is in the audit log under the caller's name and
address; ``gateway webhooks list`` shows who added each."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import CliRunner

from gateway.cli import main
from gateway.store import Store
from tests.gateway.harness import sql_file
from tests.gateway.web.api import Api

SECRET = "hook-s3cret-from-the-api"
HOOK = {"url": "https://ops.example.org/hook", "events": ["ticket.opened", "message.received"], "secret": SECRET}


async def _audit(api: Api) -> list[tuple[str, str, str, str | None, str]]:
    async with await Store.open(api.config.database_path, site="12") as store:
        rows = await store.audit_entries()
    return [(a.actor, a.actor_kind, a.action, a.target, a.address) for a in reversed(rows) if "webhook" in a.action]


async def test_an_integration_manages_only_its_own_hooks_and_an_admin_every_hook(api: Api) -> None:
    ivr = {"Authorization": f"Bearer {await api.token('integration', 'ivr')}"}
    oms = {"Authorization": f"Bearer {await api.token('integration', 'oms')}"}
    made = await api.client.post("/api/v1/webhooks", json=HOOK, headers=ivr)
    assert made.status_code == 201, made.text
    hook = made.json()
    assert made.headers["location"] == f"/api/v1/webhooks/{hook['id']}"
    assert (hook["url"], hook["events"], hook["status"], hook["backlog"]) == (
        HOOK["url"], ["ticket.opened", "message.received"], "active", 0
    )  # fmt: skip
    assert (hook["created_by"], hook["created_by_kind"]) == ("ivr", "token")
    theirs = await api.client.post("/api/v1/webhooks", json={**HOOK, "events": "ticket.updated"}, headers=oms)
    assert theirs.status_code == 201 and theirs.json()["events"] == ["ticket.updated"]
    other = theirs.json()["id"]

    listed = await api.client.get("/api/v1/webhooks", headers=ivr)
    assert [h["id"] for h in listed.json()["webhooks"]] == [hook["id"]]  # not oms's
    for method, path in (("GET", f"/api/v1/webhooks/{other}"), ("DELETE", f"/api/v1/webhooks/{other}"),
                         ("POST", f"/api/v1/webhooks/{other}/revive")):  # fmt: skip
        r = await api.client.request(method, path, headers=ivr)
        assert r.status_code == 404 and r.json()["detail"] == f"no webhook #{other}", (method, path)
    everything = await api.get("/api/v1/webhooks", role="admin")
    assert [h["created_by"] for h in everything.json()["webhooks"]] == ["ivr", "oms"]
    for body in (made.text, theirs.text, listed.text, everything.text):
        assert SECRET not in body

    assert (await api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=ivr)).status_code == 204
    assert (await api.send("DELETE", f"/api/v1/webhooks/{other}", role="admin")).status_code == 204
    assert (await api.get("/api/v1/webhooks", role="admin")).json() == {"webhooks": []}
    assert (await api.send("DELETE", f"/api/v1/webhooks/{other}", role="admin")).status_code == 404
    assert await _audit(api) == [
        ("ivr", "token", "webhook.added", f"#{hook['id']}", "127.0.0.1"),
        ("oms", "token", "webhook.added", f"#{other}", "127.0.0.1"),
        ("ivr", "token", "webhook.removed", f"#{hook['id']}", "127.0.0.1"),
        ("admin-token", "token", "webhook.removed", f"#{other}", "127.0.0.1"),
    ]


async def test_agents_and_supervisors_may_not_and_are_told_before_their_body_is_read(api: Api) -> None:
    assert (await api.client.get("/api/v1/webhooks")).status_code == 401
    assert (await api.client.post("/api/v1/webhooks", json=HOOK)).status_code == 401
    for role in ("agent", "supervisor"):
        for method, path, body in (
            ("GET", "/api/v1/webhooks", None), ("POST", "/api/v1/webhooks", {"url": 1}),
            ("DELETE", "/api/v1/webhooks/1", None), ("POST", "/api/v1/webhooks/x/revive", None),
        ):  # fmt: skip
            r = await api.send(method, path, role=role, json=body)
            assert r.status_code == 403, (role, method, path, r.text)
            assert r.headers["content-type"] == "application/problem+json" and "webhooks" in r.json()["detail"]
    assert await _audit(api) == []


async def test_bad_input_names_its_field_and_writes_nothing(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({**HOOK, "url": "ftp://ops.example.org/hook"}, "url", "must start with http:// or https://"),
        ({**HOOK, "events": ["ticket.closed"]}, "events", "unknown event type ticket.closed"),
        ({**HOOK, "events": []}, "events", "name at least one event type"),
        ({**HOOK, "secret": " padded "}, "secret", "must not start or end with spaces"),
        ({**HOOK, "secret": ""}, "secret", "secret"),
        ({"url": HOOK["url"], "events": HOOK["events"]}, "secret", "secret"),
        ({**HOOK, "colour": "red"}, "colour", "colour"),
    ]
    for body, field, words in cases:
        r = await api.send("POST", "/api/v1/webhooks", role="admin", json=body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
        assert words in r.json()["detail"] and SECRET not in r.text
    assert (await api.send("DELETE", "/api/v1/webhooks/first", role="admin")).json()["field"] == "hook_id"
    assert (await api.get("/api/v1/webhooks", role="admin")).json() == {"webhooks": []}


async def test_a_dead_hook_is_revived_through_the_api_and_the_cli_shows_who_added_it(api: Api) -> None:
    made = await api.send("POST", "/api/v1/webhooks", role="integration", json=HOOK)
    hook_id = made.json()["id"]
    sql_file(api.config.database_path, "UPDATE webhooks SET status = 'dead', attempts = 80, "
             "failing_since = '2026-11-01T00:00:00+00:00', last_error = 'HTTP 503'")  # fmt: skip
    shown = await api.get(f"/api/v1/webhooks/{hook_id}", role="integration")
    assert (shown.json()["status"], shown.json()["attempts"]) == ("dead", 80)
    revived = await api.send("POST", f"/api/v1/webhooks/{hook_id}/revive", role="integration")
    assert revived.status_code == 200, revived.text
    assert (revived.json()["status"], revived.json()["attempts"], revived.json()["failing_since"]) == (
        "active",
        0,
        None,
    )
    assert revived.json()["last_error"] == "HTTP 503"  # what went wrong stays until a success
    assert [a[2] for a in await _audit(api)] == ["webhook.added", "webhook.revived"]

    # the command runs its own event loop: in a thread, as another process would beside the API
    db = str(api.config.database_path)
    listed = await asyncio.to_thread(CliRunner().invoke, main, ["webhooks", "list", "--json", "--db", db])
    [hook] = json.loads(listed.output)
    assert (hook["created_by"], hook["created_by_kind"], hook["status"]) == ("integration-token", "token", "active")
    table = await asyncio.to_thread(
        CliRunner().invoke, main, ["webhooks", "list", "--db", db], None, {"COLUMNS": "200"}
    )
    assert "integration-token (token)" in table.output, table.output
