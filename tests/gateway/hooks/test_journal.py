"""The event journal: each change writes its event in the same transaction, with the CLI's
``--json`` field names; ids are the site's and unique; a SIM is journalled only when its state
changes; a change refused writes no event either."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.store import Actor, StatusUpdate, Store
from gateway.store.rows import SimStatusRow
from tests.gateway.make_tickets import open_tickets


def cli(db: Path, *args: str, user: str = "sara") -> Result:
    return CliRunner(env={"USER": user}).invoke(main, [*args, "--db", str(db)])


def events(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, type, created_at, data FROM events ORDER BY seq").fetchall()
    return [{"id": i, "type": t, "created_at": c, "data": json.loads(d)} for i, t, c, d in rows]


def test_the_desk_s_changes_and_the_crm_s_are_ticket_updated_events_with_the_ticket_s_json(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"

    async def make() -> str:
        async with await Store.open(db, site="12") as store:
            [made] = await open_tickets(store, 1)
            return made.ref

    ref = asyncio.run(make())
    assert cli(db, "tickets", "status", ref, "in_progress").exit_code == 0
    assert cli(db, "tickets", "assign", ref, "reza").exit_code == 0
    assert cli(db, "tickets", "status", ref, "in_progress").exit_code != 0  # refused: no event either
    shown = json.loads(cli(db, "tickets", "show", ref, "--json").output)

    async def crm() -> None:
        async with await Store.open(db, site="12") as store:
            update = StatusUpdate(id=shown["id"], status="resolved", note="fixed", notify=False)
            await store.apply_updates([update], lambda t, u: None, state={})

    asyncio.run(crm())
    journal = events(db)
    received, opened, *updated = journal
    assert (received["type"], opened["type"]) == ("message.received", "ticket.opened")
    assert received["data"]["text"] == shown["text"] and received["data"]["ticket_id"] == shown["id"]
    assert received["data"]["id"].startswith("in-") and received["data"]["action"] == "ticket"
    assert {k: opened["data"][k] for k in ("id", "ref", "phone", "text", "language")} == {
        k: shown[k] for k in ("id", "ref", "phone", "text", "language")
    }
    assert opened["data"]["status"] == "open"
    assert [(e["type"], e["data"]["status"], e["data"]["change"]["by"]) for e in updated] == [
        ("ticket.updated", "in_progress", "sara"),
        ("ticket.updated", "in_progress", "sara"),
        ("ticket.updated", "resolved", "crm"),
    ]
    first = updated[0]["data"]
    assert first["change"] == shown["history"][0]
    assert set(opened["data"]) <= set(first)  # the ticket JSON, and the desk's assignee and change
    assert updated[1]["data"]["assigned_to"] == "reza" and updated[1]["data"]["change"]["to"] == "reza"
    assert all(e["id"].startswith("12-") and len(e["id"]) == 3 + 26 for e in journal)
    assert len({e["id"] for e in journal}) == len(journal) == 5


def test_a_sim_is_journalled_when_its_state_changes_and_not_on_every_publish(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    sim = SimStatusRow(
        modem_id="m1", port="/dev/ttyUSB0", state="ready", reason=None, operator="MCI", signal=20,
        registration=1, storage_used=0, storage_total=30, sent_today=0, per_day=500, queued=0,
        last_error=None, balance=None, balance_currency=None, balance_text=None, balance_at=None,
        low_balance=0, updated_at="2026-12-02T06:00:00.000+00:00",
    )  # fmt: skip

    async def publish() -> None:
        async with await Store.open(db, site="12") as store:
            await store.save_sim_status([sim])
            await store.save_sim_status([replace(sim, signal=12, updated_at="2026-12-02T06:00:10.000+00:00")])
            await store.save_sim_status(
                [replace(sim, state="down", reason="no answer", updated_at="2026-12-02T06:00:20.000+00:00")]
            )

    asyncio.run(publish())
    journal = events(db)
    assert [(e["type"], e["data"]["state"], e["data"]["previous_state"], e["created_at"]) for e in journal] == [
        ("sim.state", "ready", None, "2026-12-02T06:00:00.000+00:00"),
        ("sim.state", "down", "ready", "2026-12-02T06:00:20.000+00:00"),
    ]
    assert journal[1]["data"]["reason"] == "no answer"


def test_old_events_are_purged_with_the_outbox_s_days_once_every_active_webhook_has_them(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    long_ago = datetime.now(UTC) - timedelta(days=200)

    async def run() -> dict[str, int]:
        async with await Store.open(db, site="12") as store:
            await open_tickets(store, 3, now=long_ago)  # 6 old events
            await store.add_webhook("http://127.0.0.1:9/hook", ["ticket.opened"], "s", actor=Actor.local("root"))
            with sqlite3.connect(db) as conn:  # it has the first ticket's two events only
                conn.execute("UPDATE webhooks SET after_seq = 2")
            await open_tickets(store, 1)  # 2 new events
            return await store.purge(30, 90)

    assert asyncio.run(run())["events"] == 2
    assert [e["type"] for e in events(db)] == ["message.received", "ticket.opened"] * 3
