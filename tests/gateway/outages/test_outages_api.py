"""``/api/v1/outages`` over real HTTP on a real SQLite file: agents read, supervisors declare,
update, restore and cancel (each audited as them), a dry run changes nothing, refusals name the
field, and a change to an outage that is over is a 409."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.broadcast.contacts import Contact
from gateway.config import Config, SiteConfig
from gateway.config.sections import WebConfig
from gateway.store import Store
from tests.gateway.web.api import Api, serving

PEOPLE = [Contact("+989125000001", language="fa", area="North"), Contact("+447700900001", language="en", area="North")]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = Config(site=SiteConfig(id="12", language="fa")).with_database(tmp_path / "gateway.db")
    async with await Store.open(config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")
    async with serving(config) as served:
        yield served


async def _audit(config: Config) -> list[tuple[str, str, str | None]]:
    async with await Store.open(config.database_path, site="12") as store:
        return [(e.action, e.actor, e.target) for e in reversed(await store.audit_entries()) if "outage" in e.action]


def _tomorrow(config: Config, clock: str) -> str:
    day = (datetime.now(ZoneInfo(config.site.timezone)) + timedelta(days=1)).date()
    return f"{day:%Y-%m-%d} {clock}"


async def test_agents_read_and_supervisors_declare_update_restore(api: Api) -> None:
    eta = _tomorrow(api.config, "18:00")
    assert (await api.get("/api/v1/outages", role=None)).status_code == 401
    refused = await api.send("POST", "/api/v1/outages", role="agent", json={"areas": ["North"]})
    assert refused.status_code == 403
    assert (await api.get("/api/v1/outages", role="integration")).status_code == 403

    dry = await api.send("POST", "/api/v1/outages", role="supervisor",
                         json={"areas": ["North"], "eta": eta, "notify": True, "dry_run": True})  # fmt: skip
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["outage"] is None and plan["notices"][0]["recipients_by_language"] == {"fa": 1, "en": 1}
    assert (await api.get("/api/v1/outages")).json() == {"outages": []}  # nothing made

    made = await api.send("POST", "/api/v1/outages", role="supervisor",
                          json={"areas": ["North"], "cause": "cable cut", "eta": eta, "notify": True})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/api/v1/outages/1" and made.json()["notified"] == 2
    listed: list[dict[str, Any]] = (await api.get("/api/v1/outages")).json()["outages"]
    assert [(o["id"], o["status"], o["eta_local"], o["notices_sent"]) for o in listed] == [(1, "active", eta, 2)]

    bad = await api.send("POST", "/api/v1/outages/1/update", role="supervisor", json={"eta": "2020-01-01 09:00"})
    assert bad.status_code == 422 and bad.json()["field"] == "eta" and "in the past" in bad.json()["detail"]
    unknown = await api.send("POST", "/api/v1/outages", role="supervisor", json={"areas": ["Atlantis"]})
    assert unknown.status_code == 422 and "no contact has area 'Atlantis'" in unknown.json()["detail"]
    public = json.loads((api.config.public_dir / "broadcasts.json").read_text(encoding="utf-8"))
    [shown_outage] = public["outages"]
    assert (shown_outage["id"], shown_outage["areas"], shown_outage["status"], shown_outage["eta_local"]) == (
        1, ["North"], "active", eta,
    )  # fmt: skip
    assert "cause" not in shown_outage  # an operator's words stay inside
    assert public["notices"][0]["outage"] == {"id": 1, "stage": "declared"}
    page = (api.config.public_dir / "index.html").read_text(encoding="utf-8")
    assert "<b>North</b>: outage 1, active since" in page and f"expected back about {eta}" in page
    later = _tomorrow(api.config, "21:00")
    moved = await api.send("POST", "/api/v1/outages/1/update", role="supervisor", json={"eta": later, "note": "crew"})
    assert moved.status_code == 200 and moved.json()["outage"]["eta_local"] == later

    over = await api.send("POST", "/api/v1/outages/1/restore", role="supervisor", json={"check": True})
    assert over.status_code == 200, over.text
    assert over.json()["outage"]["status"] == "restored" and over.json()["outage"]["check_until"]
    again = await api.send("POST", "/api/v1/outages/1/cancel", role="supervisor", json={})
    assert again.status_code == 409 and "outage 1 is restored" in again.json()["detail"]
    shown = (await api.get("/api/v1/outages/1")).json()
    assert [s["kind"] for s in shown["stages"]] == ["declared", "update", "restored"]
    assert [e["eta_local"] for e in shown["etr_history"]] == [eta, later]
    assert (await api.get("/api/v1/outages/7")).status_code == 404
    public = json.loads((api.config.public_dir / "broadcasts.json").read_text(encoding="utf-8"))
    assert public["outages"][0]["status"] == "restored" and public["outages"][0]["ended_local"]
    assert [n["outage"]["stage"] for n in public["notices"] if "outage" in n] == ["restored", "restored", "declared"]
    who = "supervisor-token"
    assert await _audit(api.config) == [
        ("outage.declared", who, "1"), ("outage.update", who, "1"), ("outage.restored", who, "1"),
    ]  # fmt: skip


async def test_with_two_person_approval_an_outage_notice_made_through_the_api_waits(tmp_path: Path) -> None:
    config = Config(site=SiteConfig(id="12", language="fa"), web=WebConfig(broadcast_approval=True))
    config = config.with_database(tmp_path / "gateway.db")
    async with await Store.open(config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")
    async with serving(config) as api:
        made = await api.send("POST", "/api/v1/outages", role="supervisor",
                              json={"areas": ["North"], "eta": _tomorrow(config, "18:00"), "notify": True})  # fmt: skip
        assert made.status_code == 201, made.text
        campaign = made.json()["notices"][0]["campaign_id"]
        shown = await api.get(f"/api/v1/broadcasts/{campaign}", role="supervisor")
        assert shown.json()["status"] == "pending_approval"  # the outage is declared; its notice waits
        assert (await api.get("/api/v1/outages/1")).json()["status"] == "active"
