"""The desk's changes back to the CRM (``POST /ticket-events``): made with the real CLI on a
real SQLite file, pushed by the real syncer to the reference receiver over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.conversation.keywords import load_catalogue
from gateway.crm.events_protocol import events_body
from gateway.crm.protocol import request_headers
from gateway.crm.push import CycleReport
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import SyncService
from gateway.exceptions import CrmError
from gateway.lockfile import holder_name
from gateway.store import Store, TicketRow
from tests.gateway.crm.test_sync import config
from tests.gateway.harness import SECRET, TOKEN
from tests.gateway.make_tickets import open_tickets

CAT = load_catalogue()
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def cli(db: Path, *args: str, user: str = "sara") -> Result:
    out = CliRunner(env={"USER": user}).invoke(main, [*args, "--db", str(db)])
    assert out.exit_code == 0, out.output
    return out


def tickets(db: Path, n: int = 1) -> list[TicketRow]:
    async def make() -> list[TicketRow]:
        async with await Store.open(db, site="12") as store:
            return await open_tickets(store, n)

    return asyncio.run(make())


def cycle(tmp_path: Path, stub: CrmStub, **overrides: object) -> CycleReport:
    """One push-and-pull cycle, as ``gateway sync now`` runs it in the foreground."""

    async def run() -> CycleReport:
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            svc = SyncService(store, config(tmp_path, stub, **overrides), CAT, holder=holder_name("test"))
            try:
                return await svc.cycle()
            finally:
                await svc.lease.release()

    return asyncio.run(run())


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["id"].split("-h")[1]) for e in events]


def test_status_note_assign_and_reply_reach_the_crm_once_each_in_order_signed(tmp_path: Path, stub: CrmStub) -> None:
    db = tmp_path / "gw.db"
    [t] = tickets(db)
    assert cycle(tmp_path, stub).synced == 1
    cli(db, "tickets", "status", t.ref, "in_progress")
    cli(db, "tickets", "note", t.ref, "crew on the way -- «برق»", "--as", "reza")
    cli(db, "tickets", "assign", t.ref, "reza")
    cli(db, "tickets", "reply", t.ref, "A crew is at the substation; power by 18:00.")
    report = cycle(tmp_path, stub)
    assert (report.events_sent, report.events_rejected) == (4, 0)
    held = stub.ticket_events()
    assert [(e["type"], e["by"], e["ticket_id"]) for e in held] == [
        ("status", "sara", t.id),
        ("note", "reza", t.id),
        ("assign", "sara", t.id),
        ("reply", "sara", t.id),
    ]
    assert ids(held) == sorted(ids(held)) and all(e["id"].startswith("12-h") for e in held)
    assert (held[0]["from"], held[0]["to"], held[0]["applied"]) == ("open", "in_progress", True)
    assert held[1]["note"] == "crew on the way -- «برق»" and held[2]["to"] == "reza"
    assert held[3]["text"] == "A crew is at the substation; power by 18:00."
    assert held[0]["crm_id"] == stub.tickets()[0]["crm_id"]
    assert {e["pushes"] for e in held} == {1}
    assert stub.stats()["unauthorised"] == 0  # each request's token and signature were accepted
    status, _, by = stub.status(t.id) or ("", "", "")
    assert (status, by) == ("in_progress", "sara")  # the CRM's status now
    requests = stub.stats()["event_requests"]
    assert cycle(tmp_path, stub).events_sent == 0  # nothing goes twice
    assert stub.stats()["event_requests"] == requests and len(stub.ticket_events()) == 4


@pytest.mark.slow  # over ~3 s: a real process killed or a receiver timing out
def test_an_event_waits_for_its_ticket_and_sync_status_counts_it(tmp_path: Path, stub: CrmStub) -> None:
    db = tmp_path / "gw.db"
    [t] = tickets(db)
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(f'[site]\nid = "12"\n[storage]\ndatabase = "gw.db"\n[crm]\nurl = "{stub.url}"\n')
    env = {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}

    def gw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*GATEWAY, *args, "-c", str(cfg)], env=env, capture_output=True, text=True, timeout=120)

    cli(db, "tickets", "note", t.ref, "made before the CRM had the ticket")
    stub.set_fault("error", status=503, count=1)  # the ticket does not get through
    try:
        cycle(tmp_path, stub)
        raise AssertionError("the cycle should have failed")
    except CrmError:
        pass
    assert stub.stats()["event_requests"] == 0  # the event waited for its ticket
    assert json.loads(gw("sync", "status", "--json").stdout)["events_pending"] == 1
    assert "events  1 pending, 0 rejected\n" in gw("sync", "status").stdout
    done = gw("sync", "now")
    assert done.returncode == 0 and "synced 1, rejected 0" in done.stdout and "1 desk change(s) sent" in done.stdout
    assert [e["type"] for e in stub.ticket_events()] == ["note"]

    # the CRM refuses the ticket's events (422): kept as rejected, counted, and queued again by hand
    stub.refuse_tickets([t.id], 422)
    cli(db, "tickets", "status", t.ref, "resolved")
    assert "0 desk change(s) sent, 1 rejected" in gw("sync", "now").stdout
    status = json.loads(gw("sync", "status", "--json").stdout)
    assert (status["events_pending"], status["events_rejected"]) == (0, 1)
    assert "0 pending, 1 rejected -- gateway sync retry-rejected" in gw("sync", "status").stdout
    stub.refuse.clear()
    assert "0 ticket(s) queued again for the CRM, and 1 desk change(s)" in gw("sync", "retry-rejected", t.ref).stdout
    assert json.loads(gw("sync", "status", "--json").stdout)["events_pending"] == 1
    assert "1 desk change(s) sent, 0 rejected" in gw("sync", "now").stdout
    assert [e["type"] for e in stub.ticket_events()] == ["note", "status"]
    assert json.loads(gw("sync", "status", "--json").stdout)["events_rejected"] == 0


def test_crm_updates_pulled_back_are_not_echoed_as_events(tmp_path: Path, stub: CrmStub) -> None:
    db = tmp_path / "gw.db"
    [t] = tickets(db)
    cycle(tmp_path, stub)
    stub.add_update(t.id, "resolved", note="cable repaired", notify=True)
    assert cycle(tmp_path, stub).updates == 1
    shown = json.loads(cli(db, "tickets", "show", t.ref, "--json").output)
    assert shown["status"] == "resolved" and shown["history"][-1]["by"] == "crm"
    assert cycle(tmp_path, stub).events_sent == 0
    assert stub.ticket_events() == [] and stub.stats()["event_requests"] == 0


def test_killed_mid_push_the_crm_gets_each_event_once_and_duplicates_only_as_answers(
    tmp_path: Path, stub: CrmStub
) -> None:
    cfg, env = _twelve_desk_changes(tmp_path, stub)
    stub.set_fault("late", delay=60.0, count=1)  # stores the first batch of events, never answers
    proc = subprocess.Popen([*GATEWAY, "sync", "now", "-c", str(cfg)], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while stub.stats()["events_accepted"] < 5:
            assert time.monotonic() < deadline and proc.poll() is None, "the first batch never reached the CRM"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    again = subprocess.run([*GATEWAY, "sync", "now", "-c", str(cfg)], env=env, capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "12 desk change(s) sent, 0 rejected" in again.stdout  # the 5 again (as duplicates) and 7 new
    held = stub.ticket_events()
    stats = stub.stats()
    assert len(held) == 12 and len({e["id"] for e in held}) == 12 and ids(held) == sorted(ids(held))
    assert stats["events_duplicates"] == 5 and stats["events_accepted"] == 12
    assert sorted(e["pushes"] for e in held) == [1] * 7 + [2] * 5


def test_both_changed_while_apart_the_later_status_wins_on_both_sides_and_both_stay_in_the_history(
    tmp_path: Path, stub: CrmStub
) -> None:
    db = tmp_path / "gw.db"
    early, late = tickets(db, 2)
    cycle(tmp_path, stub)
    stub.down()  # apart
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    stub.add_update(early.id, "resolved", note="fixed remotely", notify=True, changed_at=an_hour_ago)
    cli(db, "tickets", "status", early.ref, "in_progress")  # the desk, later than the CRM
    cli(db, "tickets", "status", late.ref, "in_progress")
    stub.add_update(late.id, "resolved", notify=True)  # the CRM, later than the desk
    stub.up()
    report = cycle(tmp_path, stub)
    assert (report.events_sent, report.updates, report.superseded, report.notices) == (2, 1, 1, 1)

    # the desk's later change stands on both sides; the CRM's is in the history; nobody is told
    shown = json.loads(cli(db, "tickets", "show", early.ref, "--json").output)
    assert shown["status"] == "in_progress"
    assert [(h["by"], h["action"], h["to"]) for h in shown["history"]] == [
        ("sara", "status", "in_progress"),
        ("crm", "note", None),
    ]
    assert shown["history"][1]["note"] == (
        f"the CRM set resolved at {an_hour_ago} (fixed remotely); the desk's later status in_progress stands"
    )
    status, _, by = stub.status(early.id) or ("", "", "")
    assert (status, by) == ("in_progress", "sara")

    # the CRM's later change wins on both sides; the desk's is in the CRM's history; told once
    shown = json.loads(cli(db, "tickets", "show", late.ref, "--json").output)
    assert shown["status"] == "resolved"
    assert [(h["by"], h["action"], h["from"], h["to"]) for h in shown["history"]] == [
        ("sara", "status", "open", "in_progress"),
        ("crm", "status", "in_progress", "resolved"),
    ]
    status, _, by = stub.status(late.id) or ("", "", "")
    assert (status, by) == ("resolved", "crm")
    kept = {e["ticket_id"]: e for e in stub.ticket_events()}
    assert (kept[early.id]["applied"], kept[late.id]["applied"]) == (True, False)
    assert _notices(db) == {late.id: 1}
    again = cycle(tmp_path, stub)  # nothing more goes either way, nobody is told twice
    assert (again.events_sent, again.updates, again.notices) == (0, 0, 0) and _notices(db) == {late.id: 1}


def _notices(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT ticket_id, COUNT(*) FROM outbox WHERE lane = 'notification' GROUP BY ticket_id"
        ).fetchall()
    return {str(t): int(n) for t, n in rows}


def test_the_receiver_refuses_an_unsigned_or_tampered_batch_of_events_and_stores_none(
    tmp_path: Path, stub: CrmStub
) -> None:
    db = tmp_path / "gw.db"
    [t] = tickets(db)
    cycle(tmp_path, stub)
    doc = {"id": "12-h1", "ticket_id": t.id, "type": "note", "at": "2026-11-23T09:00:00Z", "by": "x", "note": "n"}
    _, body = events_body("12", [doc])
    headers = request_headers(token=TOKEN, secret=SECRET, body=body, now=time.time(), batch_id="b")
    tampered = body.replace(b'"n"', b'"m"')
    assert httpx.post(f"{stub.url}/ticket-events", content=tampered, headers=headers).status_code == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-Gateway-Signature"}
    assert httpx.post(f"{stub.url}/ticket-events", content=body, headers=unsigned).status_code == 401
    assert stub.ticket_events() == [] and stub.stats()["unauthorised"] == 2
    answer = httpx.post(f"{stub.url}/ticket-events", content=body, headers=headers)
    assert answer.json() == {"results": [{"id": "12-h1", "status": "accepted"}]}


def test_a_crm_without_ticket_events_holds_back_neither_tickets_nor_updates(tmp_path: Path, stub: CrmStub) -> None:
    db = tmp_path / "gw.db"
    first, second = tickets(db, 2)
    cycle(tmp_path, stub)
    cli(db, "tickets", "note", first.ref, "seen")
    stub.add_update(second.id, "resolved")
    stub.set_fault("error", status=404, count=1)  # the CRM answers 404 on /ticket-events, for now
    report = cycle(tmp_path, stub)  # no exception: the cycle succeeds
    assert (report.events_sent, report.updates) == (0, 1)

    async def state() -> dict[str, str]:
        async with await Store.open(db, site="12") as store:
            return {**(await store.sync_state()), **{k: str(v) for k, v in (await store.event_counts()).items()}}

    now = asyncio.run(state())
    assert "HTTP 404" in now["last_error"] and "events batch" in now["events_error"] and now["events_pending"] == "1"
    assert cycle(tmp_path, stub).events_sent == 1  # the next round sends it
    assert [e["note"] for e in stub.ticket_events()] == ["seen"]
    assert asyncio.run(state())["last_error"] == ""


@pytest.mark.slow  # over ~3 s: a real process killed or a receiver timing out
def test_the_daemon_killed_mid_push_sends_each_event_again_under_its_id_and_the_crm_keeps_it_once(
    tmp_path: Path, stub: CrmStub
) -> None:
    cfg, env = _twelve_desk_changes(tmp_path, stub)
    run = [*GATEWAY, "run", "--simulate", "1", "-c", str(cfg)]
    stub.set_fault("late", delay=60.0, count=1)  # stores the daemon's first batch of events, never answers
    daemon = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while stub.stats()["events_accepted"] < 5:
            assert time.monotonic() < deadline and daemon.poll() is None, "the first batch never reached the CRM"
            time.sleep(0.05)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    daemon = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(stub.ticket_events()) < 12 or stub.stats()["events_duplicates"] < 5:
            assert time.monotonic() < deadline and daemon.poll() is None, "the restarted daemon did not send the rest"
            time.sleep(0.05)
        while _pending(cfg, env):  # the CRM's answers are applied: nothing left to send
            assert time.monotonic() < deadline and daemon.poll() is None
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    held = stub.ticket_events()
    assert len(held) == 12 and len({e["id"] for e in held}) == 12 and ids(held) == sorted(ids(held))
    assert stub.stats()["events_duplicates"] == 5 and stub.stats()["events_accepted"] == 12
    assert sorted(e["pushes"] for e in held) == [1] * 7 + [2] * 5


def _pending(cfg: Path, env: dict[str, str]) -> int:
    """``gateway sync status --json``'s count of the desk's changes not yet answered for."""
    status = subprocess.run(
        [*GATEWAY, "sync", "status", "--json", "-c", str(cfg)], env=env, capture_output=True, text=True, timeout=60
    )
    return int(json.loads(status.stdout)["events_pending"])


def _twelve_desk_changes(tmp_path: Path, stub: CrmStub) -> tuple[Path, dict[str, str]]:
    """Three tickets the CRM has, each then changed four ways at the desk (status, note,
    assignment, reply); a config sending to ``stub`` in batches of 5, and its secrets."""
    db = tmp_path / "gw.db"
    made = tickets(db, 3)
    cycle(tmp_path, stub)
    for t in made:
        cli(db, "tickets", "status", t.ref, "in_progress")
        cli(db, "tickets", "note", t.ref, f"note on {t.ref}")
        cli(db, "tickets", "assign", t.ref, "reza")
        cli(db, "tickets", "reply", t.ref, "on our way")
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(
        f'[site]\nid = "12"\n[storage]\ndatabase = "gw.db"\n[crm]\nurl = "{stub.url}"\nbatch_size = 5\ntimeout = 60.0\n'
    )
    return cfg, {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}
