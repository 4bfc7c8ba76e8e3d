"""``/api/v1/broadcasts`` over real HTTP on a real SQLite file: the plan of a dry run (and
nothing made), a campaign created as the signed-in supervisor, two-person approval with
``[web] broadcast_approval``, pause/resume/cancel, every write in the audit log, and the role
boundaries (401/403 before the body is read)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.broadcast.contacts import Contact
from gateway.cli import main
from gateway.config import Config
from gateway.store import Store
from tests.gateway.web.api import Api, serving

OUTAGE = {"template": "outage", "vars": {"area": "North", "eta": "18:00"}, "groups": ["north"]}
PEOPLE = [Contact("+989125000001", language="fa"), Contact("+989125000002", language="fa"),
          Contact("+447700900001", language="en")]  # fmt: skip


async def _contacts(config: Config) -> None:
    async with await Store.open(config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")


async def _sql(config: Config, statement: str) -> list[Any]:
    async with await Store.open(config.database_path, site="12") as store, store._r.execute(statement) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def _audit(config: Config, action: str) -> list[dict[str, Any]]:
    async with await Store.open(config.database_path, site="12") as store:
        return [e.as_json() for e in reversed(await store.audit_entries()) if e.action == action]


async def _as(api: Api, name: str, role: str = "supervisor") -> dict[str, str]:
    return await api.as_role(role, name)


@pytest.fixture
async def approving(api_config: Config) -> AsyncIterator[Api]:
    """The API with ``[web] broadcast_approval = true``, and the north group's three contacts."""
    config = dataclasses.replace(api_config, web=dataclasses.replace(api_config.web, broadcast_approval=True))
    await _contacts(config)
    async with serving(config) as served:
        yield served


async def test_roles_without_the_right_are_refused_before_the_body_is_read(api: Api) -> None:
    assert (await api.get("/api/v1/broadcasts", role=None)).status_code == 401
    for role in ("agent", "integration"):
        listed = await api.get("/api/v1/broadcasts", role=role)
        assert listed.status_code == 403 and "may not list broadcasts" in listed.json()["detail"], role
        made = await api.send("POST", "/api/v1/broadcasts", role=role, json={"not": "a broadcast"})
        assert made.status_code == 403, role  # 403, not 422: nothing is learnt about the body
        assert (await api.send("POST", "/api/v1/broadcasts/1/approve", role=role)).status_code == 403
        assert (await api.send("POST", "/api/v1/broadcasts/1/cancel", role=role)).status_code == 403
    for role in ("supervisor", "admin"):
        r = await api.get("/api/v1/broadcasts", role=role)
        assert r.status_code == 200 and r.json() == {"broadcasts": []}
    assert (await api.get("/api/v1/broadcasts/7", role="supervisor")).status_code == 404


async def test_a_dry_run_answers_the_plan_and_creates_nothing(api: Api) -> None:
    await _contacts(api.config)
    r = await api.send("POST", "/api/v1/broadcasts", role="supervisor", json={**OUTAGE, "dry_run": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["campaign"] is None and plan["recipients"] == 3
    assert plan["recipients_by_language"] == {"fa": 2, "en": 1}
    assert plan["texts"]["en"]["text"] == "Power outage in North. Expected back around 18:00. We apologise."
    assert plan["parts_per_run"] == 2 * plan["texts"]["fa"]["parts"] + 1
    assert {"sims", "finish", "finishes_today", "rate_parts_per_s", "warnings"} <= set(plan)
    assert (await api.get("/api/v1/broadcasts", role="supervisor")).json() == {"broadcasts": []}
    assert await _sql(api.config, "SELECT COUNT(*) FROM outbox") == [(0,)]
    assert await _audit(api.config, "broadcast.created") == []


async def test_a_created_broadcast_runs_at_once_and_names_its_creator(api: Api) -> None:
    await _contacts(api.config)
    r = await api.send("POST", "/api/v1/broadcasts", role=None, json=OUTAGE, headers=await _as(api, "sara"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "running" and body["recipients"] == 3
    assert r.headers["location"] == f"/api/v1/broadcasts/{body['campaign']}"
    shown = (await api.get(r.headers["location"], role="supervisor")).json()
    assert (shown["status"], shown["created_by"], shown["approved_by"]) == ("running", "sara", None)
    assert (shown["messages"], shown["remaining"], shown["sent"]) == (3, 3, 0)
    [listed] = (await api.get("/api/v1/broadcasts", role="supervisor")).json()["broadcasts"]
    assert listed["id"] == body["campaign"] and listed["remaining"] == 3 and listed["audience"] == {"groups": ["north"]}
    [entry] = await _audit(api.config, "broadcast.created")
    assert (entry["actor"], entry["actor_kind"], entry["target"]) == ("sara", "token", str(body["campaign"]))
    assert entry["detail"] == {"template": "outage", "recipients": 3, "status": "running"}
    assert entry["address"] == "127.0.0.1"


async def test_with_approval_a_second_supervisor_lets_it_go_and_its_creator_cannot(approving: Api) -> None:
    api = approving
    r = await api.send("POST", "/api/v1/broadcasts", role=None, json=OUTAGE, headers=await _as(api, "sara"))
    assert r.status_code == 201 and r.json()["status"] == "pending_approval"
    cid = r.json()["campaign"]
    # written whole, but held: the pacer releases nothing of a campaign that is not running
    assert await _sql(api.config, f"SELECT status, COUNT(*) FROM outbox WHERE campaign_id = {cid} GROUP BY status") == [
        ("held", 3)
    ]
    public = (api.config.public_dir / "broadcasts.json").read_text(encoding="utf-8")
    assert "Power outage in North" not in public  # not published before it is approved
    own = await api.send("POST", f"/api/v1/broadcasts/{cid}/approve", role=None, headers=await _as(api, "sara"))
    assert own.status_code == 403 and own.headers["content-type"] == "application/problem+json"
    assert own.json()["detail"] == (
        f"campaign {cid} was created by sara: a second supervisor must approve it, not its creator"
    )
    resumed = await api.send("POST", f"/api/v1/broadcasts/{cid}/resume", role=None, headers=await _as(api, "sara"))
    assert resumed.status_code == 409 and "approves it" in resumed.json()["detail"]
    assert (await api.get(f"/api/v1/broadcasts/{cid}", role="supervisor")).json()["status"] == "pending_approval"

    ok = await api.send("POST", f"/api/v1/broadcasts/{cid}/approve", role=None, headers=await _as(api, "reza"))
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["created_by"], ok.json()["approved_by"]) == ("running", "sara", "reza")
    assert ok.json()["approved_at"] is not None
    assert "Power outage in North" in (api.config.public_dir / "broadcasts.json").read_text(encoding="utf-8")
    again = await api.send("POST", f"/api/v1/broadcasts/{cid}/approve", role="admin")
    assert again.status_code == 409 and again.json()["detail"].startswith(f"campaign {cid} is running")
    assert (await api.send("POST", "/api/v1/broadcasts/99/approve", role="admin")).status_code == 404
    [approved] = await _audit(api.config, "broadcast.approved")
    assert (approved["actor"], approved["actor_kind"], approved["target"]) == ("reza", "token", str(cid))
    [created] = await _audit(api.config, "broadcast.created")
    assert created["actor"] == "sara" and created["detail"]["status"] == "pending_approval"


async def test_a_pending_broadcast_may_be_cancelled_and_the_cli_approves_but_not_its_own(approving: Api) -> None:
    api = approving
    made = [
        (await api.send("POST", "/api/v1/broadcasts", role=None, json=OUTAGE, headers=await _as(api, "sara"))).json()
        for _ in range(2)
    ]
    first, second = (m["campaign"] for m in made)
    cancelled = await api.send("POST", f"/api/v1/broadcasts/{first}/cancel", role=None, headers=await _as(api, "sara"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    said = cancelled.json()
    assert said["cancelled_messages"] == 3 and "3 message(s) will not be sent" in said["message"]

    def gw(*args: str) -> tuple[int, str]:
        out = CliRunner().invoke(main, [*args, "--db", str(api.config.database_path)])
        return out.exit_code, out.output

    code, out = await asyncio.to_thread(gw, "broadcast", "approve", str(second), "--as", "sara")
    assert code == 1 and "a second supervisor must approve it" in out
    code, out = await asyncio.to_thread(gw, "broadcast", "approve", str(second), "--as", "leila")
    assert code == 0 and f"campaign {second} approved by leila" in out, out
    shown = (await api.get(f"/api/v1/broadcasts/{second}", role="supervisor")).json()
    assert (shown["status"], shown["approved_by"]) == ("running", "leila")
    [entry] = await _audit(api.config, "broadcast.approved")
    assert (entry["actor"], entry["actor_kind"]) == ("leila", "local")


async def test_pause_resume_and_cancel_answer_the_campaign_and_409_when_its_state_forbids(api: Api) -> None:
    await _contacts(api.config)
    cid = (await api.send("POST", "/api/v1/broadcasts", role="supervisor", json=OUTAGE)).json()["campaign"]

    async def act(action: str) -> Any:
        return await api.send("POST", f"/api/v1/broadcasts/{cid}/{action}", role="supervisor")

    paused = await act("pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert (await act("pause")).status_code == 409
    assert (await act("resume")).json()["status"] == "running"
    assert (await act("resume")).json()["detail"] == f"campaign {cid} is running: only a paused one can be resumed"
    assert (await act("cancel")).json()["status"] == "cancelled"
    assert (await act("cancel")).status_code == 409
    assert (await api.send("POST", "/api/v1/broadcasts/99/pause", role="supervisor")).status_code == 404
    actions = [e["action"] for e in await _audit_all(api.config) if e["action"].startswith("broadcast.")]
    assert actions == ["broadcast.created", "broadcast.paused", "broadcast.resumed", "broadcast.cancelled"]


async def _audit_all(config: Config) -> list[dict[str, Any]]:
    async with await Store.open(config.database_path, site="12") as store:
        return [e.as_json() for e in reversed(await store.audit_entries())]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"groups": ["south"]}, "groups", "no group 'south'"),
        ({"template": "party"}, "template", "no notice 'party'"),
        ({"groups": []}, "body", "give an audience"),
        ({"reporters": ["outage"]}, "body", "reporters needs since"),
        ({"window": "7 to 11"}, "window", "is not a window"),
        ({"every": 60, "times": 2}, "every", "every must be at least 5 minutes"),
        ({"times": 2}, "until", "need every"),
        ({"vars": {"colour": "red"}}, "vars", "has no variable 'colour'"),
        ({"rate": 0}, "rate", "greater than or equal to 1"),
        ({"group": ["north"]}, "group", "Extra inputs are not permitted"),
    ],
)
async def test_a_request_the_library_refuses_is_a_422_naming_its_field(
    api: Api, change: dict[str, Any], field: str, words: str
) -> None:
    await _contacts(api.config)
    r = await api.send("POST", "/api/v1/broadcasts", role="supervisor", json={**OUTAGE, **change, "dry_run": True})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()
    assert await _sql(api.config, "SELECT COUNT(*) FROM campaigns") == [(0,)]


async def test_broadcasts_created_at_once_each_reach_their_own_audience(api: Api) -> None:
    """The API's one store gathers an audience in its connection's TEMP table: two supervisors
    creating at the same moment must not send one's notice to the other's audience."""
    south = [Contact(f"+98912600{i:04d}", language="fa") for i in range(40)]
    async with await Store.open(api.config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")
        await store.upsert_contacts(south, "south")
    bodies = [{**OUTAGE, "groups": [group]} for group in ("north", "south", "north", "south")]
    await api.token("supervisor")  # made once, before the requests race
    answers = await asyncio.gather(*(api.send("POST", "/api/v1/broadcasts", role="supervisor", json=b) for b in bodies))
    assert [a.status_code for a in answers] == [201] * 4
    for body, answer in zip(bodies, answers, strict=True):
        cid = answer.json()["campaign"]
        phones = {p for (p,) in await _sql(api.config, f"SELECT phone FROM outbox WHERE campaign_id = {cid}")}
        wanted = {c.phone for c in (PEOPLE if body["groups"] == ["north"] else south)}
        assert phones == wanted and answer.json()["recipients"] == len(wanted)
