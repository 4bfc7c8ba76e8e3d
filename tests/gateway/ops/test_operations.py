"""What a sysadmin relies on: one daemon per database, backups, exports, retention,
indexes, metrics, and logs that keep customers' numbers and words to themselves."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from gateway import logs
from gateway.broadcast.operations import BroadcastRequest, broadcast
from gateway.cli import main
from gateway.config import CrmConfig, MetricsConfig, secrets_exposed
from gateway.config import load as load_config
from gateway.crm.receiver import CrmStub
from gateway.exceptions import ConfigError
from gateway.lockfile import holder
from gateway.ops.maintenance import backup
from gateway.store import AudienceSpec, Store, stamp, utcnow
from tests.gateway.broadcast.test_broadcast import add_contacts
from tests.gateway.harness import Harness, eventually
from tests.gateway.make_tickets import open_tickets

GATEWAY = [sys.executable, "-m", "gateway.cli"]


# ---------------------------------------------------------------- one daemon per database


async def test_a_second_daemon_on_the_same_database_exits_with_the_lock_message(harness: Harness) -> None:
    await harness.start()
    second = await asyncio.to_thread(
        subprocess.run,
        [*GATEWAY, "run", "--simulate", "1", "--db", str(harness.database)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_CONFIG": ""},
    )
    assert second.returncode == 1
    assert f"a gateway daemon is already running on {harness.database} (pid {os.getpid()}" in second.stderr
    assert "stop it first" in second.stderr
    assert holder(harness.database) is not None
    await harness.stop()
    assert holder(harness.database) is None  # the lock goes with the daemon


# ---------------------------------------------------------------- backup and export


async def test_a_backup_taken_during_a_broadcast_has_every_committed_row(harness: Harness) -> None:
    await harness.start()
    for e in harness.emulators:
        e.set_send_latency(0.02)
    await add_contacts(harness.store, fa=300, en=100)
    _, campaign_id, _ = await broadcast(
        harness.config, BroadcastRequest("outage", {"area": "north", "eta": "18:00"}, AudienceSpec(groups=("north",))),
        dry_run=False,
    )  # fmt: skip
    assert campaign_id is not None
    await eventually(lambda: sum(len(e.sent) for e in harness.emulators) >= 30)
    before = await harness.sql("SELECT id, status FROM outbox WHERE status IN ('sent', 'delivered')")
    target = harness.tmp_path / "backups" / "gw.db"
    report = await asyncio.to_thread(backup, harness.config, target)
    after = await harness.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('sent', 'delivered')")
    assert sum(len(e.sent) for e in harness.emulators) < 400  # the broadcast was still going
    conn = sqlite3.connect(target)
    try:
        copied = dict(conn.execute("SELECT id, status FROM outbox").fetchall())
        (on_air,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('sent', 'delivered')").fetchone()
        (contacts,) = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()
        (journal,) = conn.execute("PRAGMA journal_mode").fetchone()
    finally:
        conn.close()
    assert all(copied.get(row_id) in ("sent", "delivered") for row_id, _ in before)  # nothing committed is missing
    assert len(before) <= on_air <= after[0][0] and len(copied) == 400 and contacts == 400
    assert journal == "delete" and report.rows["outbox"] == 400 and report.schema_version >= 6
    async with await Store.open(target, site="12") as restored:  # a restore opens and migrates like any database
        assert (await restored.campaign(campaign_id)) is not None
    assert not list(target.parent.glob(".*.tmp"))  # no half-written copy left behind


def test_backup_refuses_to_overwrite_and_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_make_tickets(db, 2))
    runner = CliRunner()
    first = runner.invoke(main, ["backup", str(tmp_path / "b.db"), "--db", str(db)])
    assert first.exit_code == 0 and "backup written to" in first.output and "2 tickets" in first.output
    again = runner.invoke(main, ["backup", str(tmp_path / "b.db"), "--db", str(db)])
    assert again.exit_code == 1 and "exists: choose another name or pass --force" in again.output
    missing = runner.invoke(main, ["backup", str(tmp_path / "c.db"), "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "no database at" in missing.output


async def _make_tickets(db: Path, n: int, *, days_ago: float = 0) -> None:
    async with await Store.open(db, site="12") as store:
        await open_tickets(store, n, now=utcnow() - timedelta(days=days_ago))


def test_export_tickets_as_csv_and_json_for_the_usb_stick(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_make_tickets(db, 3, days_ago=3))
    asyncio.run(_make_tickets(db, 2))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tickets SET text = '=HYPERLINK(\"http://x\")' WHERE seq = (SELECT MAX(seq) FROM tickets)")
    conn.execute("UPDATE tickets SET sync_status = 'synced' WHERE seq = (SELECT MIN(seq) FROM tickets)")
    conn.commit()
    conn.close()
    runner = CliRunner()
    out = tmp_path / "tickets.csv"
    result = runner.invoke(main, ["export", "tickets", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0 and "5 ticket(s) exported" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["account"] for r in rows] == ["40000", "40001", "40002", "40000", "40001"]  # oldest first
    assert rows[0]["phone"].startswith("+98912")  # a number stays a number
    assert rows[-1]["text"] == '\'=HYPERLINK("http://x")'  # a formula is defused
    assert rows[1]["text"] == "قطع 40001"
    recent = runner.invoke(main, ["export", "tickets", "--json", "--since", "1d", "--db", str(db)])
    assert recent.exit_code == 0
    tickets = json.loads(recent.stdout)
    assert len(tickets) == 2 and {"id", "ref", "phone", "repeat_count", "received_at"} <= tickets[0].keys()
    queued = runner.invoke(main, ["export", "tickets", "--json", "--sync", "queued", "--db", str(db)])
    assert len(json.loads(queued.stdout)) == 4


# ---------------------------------------------------------------- retention and indexes


async def test_the_purge_removes_old_raw_pdus_and_sent_rows_and_keeps_tickets(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").inject_sms("+989121110001", "قطع ۴۸۲۱۳")
    await harness.reply_to("+989121110001")
    await harness.stop()
    old = stamp(utcnow() - timedelta(days=100))
    await harness.sql("INSERT INTO outbox (phone, text, lane, priority, status, parts, created_at) "
                      f"VALUES ('+989121110002', 'waiting', 'reply', 0, 'queued', 1, '{old}')")  # fmt: skip
    await harness.sql(f"UPDATE inbound_pdus SET received_at = '{old}'")
    await harness.sql(f"UPDATE outbox SET created_at = '{old}' WHERE status != 'queued'")
    await harness.sql(  # half of a long SMS whose other half never came: kept, it may still complete
        f"""INSERT INTO inbound_pdus (modem_id, memory, sim_index, pdu, kind, received_at, concat_key, concat_seq,
                                      on_sim) VALUES ('m1', 'SM', 9, 'PART1', 'part', '{old}', 'k', 1, 0)"""
    )
    for n, (ended, expires) in enumerate([(old, old), (None, old), (None, stamp(utcnow() + timedelta(hours=9)))]):
        ended_sql = f"'{ended}'" if ended else "NULL"
        await harness.sql("INSERT INTO sessions (id_hash, user_name, address, created_at, expires_at, ended_at) "
                          f"VALUES ('h{n}', 'sara', '127.0.0.1', '{old}', '{expires}', {ended_sql})")  # fmt: skip
    async with await Store.open(harness.database, site="12") as store:
        deleted = await store.purge(inbound_pdus_days=30, outbox_days=90)
        again = await store.purge(inbound_pdus_days=30, outbox_days=90)
    assert deleted["inbound_pdus"] == 1 and deleted["outbox"] == 1 and deleted["outbox_parts"] >= 1
    assert deleted["sessions"] == 2  # signed out and expired long ago; the one still valid stays
    assert await harness.sql("SELECT id_hash FROM sessions") == [("h2",)]
    assert set(again.values()) == {0}
    assert await harness.sql("SELECT kind FROM inbound_pdus") == [("part",)]
    assert await harness.sql("SELECT status FROM outbox") == [("queued",)]  # never a message still to send
    tickets = await harness.sql("SELECT account, phone FROM tickets")
    assert tickets == [("48213", "+989121110001")]
    assert len(await harness.sql("SELECT * FROM messages")) == 1
    shown = await asyncio.to_thread(
        CliRunner().invoke, main, ["tickets", "list", "--json", "--db", str(harness.database)]
    )
    assert json.loads(shown.stdout)[0]["account"] == "48213"


BIG_TABLES = ("messages", "tickets", "outbox", "outbox_parts", "inbound_pdus", "contacts", "pending_reports")
# Statements that read a whole table on purpose, and how often: the counts behind `gateway stats`
# and the metrics (one scrape, through covering indexes), and CLI listings without a filter.
WHOLE_TABLE_OK = (
    re.compile(r"GROUP BY"),
    re.compile(r"^SELECT COUNT\(\*\) FROM \w+$"),
)


async def test_every_statement_the_daemon_runs_uses_an_index_on_the_big_tables(tmp_path: Path) -> None:
    """A year of traffic is millions of rows: a statement that scans one of the big tables
    would slow every message. Record what the daemon really runs, then EXPLAIN each one."""
    statements: set[str] = set()
    h = Harness(tmp_path)
    try:
        with CrmStub(tmp_path / "crm.db") as stub:
            h.configure(crm=CrmConfig(url=stub.url, probe_interval=0.1, pull_interval=0.2, backoff_max=0.3))
            daemon = await h.start()
            assert daemon.store is not None
            for conn in (daemon.store._w, daemon.store._r):
                await conn.set_trace_callback(statements.add)
            await add_contacts(h.store, fa=20, en=5)
            await broadcast(h.config, BroadcastRequest("restored", {"area": "north"}, AudienceSpec(groups=("north",))),
                            dry_run=False)  # fmt: skip
            for i, text in enumerate(["1 48213", "قطع ۴۸۲۱۳", "سلام", "4 12-000001", "STOP", "1 48213"]):
                h.emu("m1" if i % 2 else "m2").inject_sms(f"+98912111{i:04d}", text)
            await eventually(lambda: len(stub.tickets()) >= 3, 20)
            await eventually(lambda: sum(len(e.sent) for e in h.emulators) >= 30, 20)
            await daemon.store.purge(30, 90)
    finally:
        await h.stop()
        h.close()
    await _grow(h.database)
    conn = sqlite3.connect(h.database)
    scans: list[str] = []
    try:
        for sql in sorted(statements):
            flat = " ".join(sql.split())
            if not flat.upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH", "INSERT INTO")) or "sqlite_" in flat:
                continue
            if any(p.search(flat) for p in WHOLE_TABLE_OK):
                continue
            try:
                plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            except sqlite3.Error:
                continue  # a temporary table of that moment
            for *_, detail in plan:
                m = re.match(r"SCAN (\w+)", detail)
                if m and m.group(1) in BIG_TABLES and "INDEX" not in detail:
                    scans.append(f"{detail}  <-  {flat[:200]}")
    finally:
        conn.close()
    assert len(statements) > 50  # the workload really ran through the store
    assert scans == []


async def _grow(database: Path) -> None:
    """Enough rows that the query planner's choices are the ones of a big database."""
    async with await Store.open(database, site="12") as store:
        await open_tickets(store, 2000, now=utcnow() - timedelta(days=200))
    conn = sqlite3.connect(database)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


# ---------------------------------------------------------------- metrics


async def test_the_metrics_endpoint_shows_what_the_database_holds(harness: Harness) -> None:
    harness.configure(metrics=MetricsConfig(listen="127.0.0.1:0"))
    daemon = await harness.start()
    assert daemon.metrics is not None and daemon.metrics.host == "127.0.0.1"
    harness.emu("m1").fail_next_sends(1, code=38)
    for i, text in enumerate(["1 48213", "قطع ۴۸۲۲۲", "2 50001", "salam"]):
        harness.emu("m1" if i < 3 else "m2").inject_sms(f"+98912222{i:04d}", text)
    await eventually(lambda: sum(len(e.sent) for e in harness.emulators) == 4)

    async def m1_ready_again() -> bool:  # the failed send's state is published, then the recovery
        return await harness.sql("SELECT state FROM sim_status WHERE modem_id = 'm1'") == [("ready",)]

    await eventually(m1_ready_again)

    async def rows_say_sent() -> bool:  # the modems have them; the rows say so a moment later
        return await harness.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('sent', 'delivered')") == [(4,)]

    await eventually(rows_say_sent)
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{daemon.metrics.port}/metrics")
    assert answer.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }

    def metric(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    for sim, n in await harness.sql("SELECT modem_id, COUNT(*) FROM messages GROUP BY modem_id"):
        assert metric("sms_gateway_sms_received_total", sim=str(sim)) == n
    assert sum(v for (name, _), v in samples.items() if name == "sms_gateway_sms_received_total") == 4
    for category, n in await harness.sql("SELECT category, COUNT(*) FROM tickets GROUP BY category"):
        assert metric("sms_gateway_tickets_opened_total", category=str(category)) == n
    assert metric("sms_gateway_tickets_opened_total", category="outage") == 2
    for sim, lane, n in await harness.sql(
        "SELECT modem_id, lane, COUNT(*) FROM outbox WHERE status IN ('sent', 'delivered') GROUP BY 1, 2"
    ):
        assert metric("sms_gateway_sms_sent_total", sim=str(sim), lane=str(lane)) == n
    assert metric("sms_gateway_send_errors_total", sim="m1", cms="38") == 1  # the retried send, counted
    assert metric("sms_gateway_queue_depth", lane="reply") == 0
    assert metric("sms_gateway_sync_backlog") == 3  # no CRM configured: every ticket waits
    assert metric("sms_gateway_crm_link_up") == 0
    assert metric("sms_gateway_sim_state", sim="m1", state="ready") == 1
    assert metric("sms_gateway_sim_signal", sim="m1") >= 0
    assert "+98912222" not in answer.text  # labels never carry a number
    stats = await asyncio.to_thread(CliRunner().invoke, main, ["stats", "--json", "--db", str(harness.database)])
    assert json.loads(stats.stdout)["tickets_by_category"]["outage"] == 2  # the same numbers without Prometheus


async def test_a_metrics_port_already_taken_stops_the_start_cleanly(harness: Harness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        harness.configure(metrics=MetricsConfig(listen=f"127.0.0.1:{port}"))
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            await harness.start()
    harness.daemon = None
    assert holder(harness.database) is None  # the lock went with the failed start
    harness.configure(metrics=MetricsConfig(listen="127.0.0.1:0"))
    await harness.start()  # the modems were let go: a new start gets them
    harness.emu("m1").inject_sms("+989121110009", "1 48213")
    await harness.reply_to("+989121110009")
    assert await harness.sql("SELECT account FROM tickets") == [("48213",)]


# ---------------------------------------------------------------- privacy


CUSTOMER = "+989121234567"
WORDS = "transformer exploded near the bakery"
TOKEN, SECRET, PIN = "t0ken-8d1f2a", "hmac-77c9e3b1", "8642"


async def _logged_run(tmp_path: Path, privacy: bool) -> str:
    stream = io.StringIO()
    logs.configure(level="debug", fmt="json", privacy=privacy, stream=stream)
    h = Harness(tmp_path)
    try:
        with CrmStub(tmp_path / "crm.db", token="another-token", secret=SECRET) as stub:  # refuses our token: 401
            h.configure(
                modems={"pin": PIN},
                crm=CrmConfig(url=stub.url, token=TOKEN, secret=SECRET, probe_interval=0.1, backoff_max=0.2),
            )
            await h.start()
            h.emu("m1").inject_sms(CUSTOMER, f"1 48213 {WORDS}")
            reply = await h.reply_to(CUSTOMER)
            await eventually(lambda: '"crm_' in stream.getvalue() or "sync_" in stream.getvalue())
            await asyncio.sleep(0.5)
    finally:
        await h.stop()
        h.close()
        logs.configure(level="info", fmt="json", privacy=True, stream=io.StringIO())
    return stream.getvalue() + "\n" + reply.text


@pytest.mark.parametrize("privacy", [True, False])
async def test_logs_mask_numbers_and_words_by_default_and_never_show_secrets(tmp_path: Path, privacy: bool) -> None:
    text = await _logged_run(tmp_path, privacy)
    logged, reply = text.rsplit("\n", 1)
    assert '"sms_routed"' in logged and '"sms_sent"' in logged
    shown = {CUSTOMER: CUSTOMER in logged, "words": WORDS in logged, "reply": reply in logged}
    assert shown == dict.fromkeys(shown, not privacy), shown
    if privacy:
        assert "+98*******567" in logged  # still tells two customers apart
    for secret in (TOKEN, SECRET):
        assert secret not in logged
    assert not re.search(rf"(?<![\d.]){PIN}(?![\d.])", logged)


def test_a_config_holding_secrets_that_others_can_read_is_warned_about(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[crm]\nurl = "http://127.0.0.1:9"\ntoken = "{TOKEN}"\n', encoding="utf-8")
    config.chmod(0o644)
    exposed = secrets_exposed(load_config(config))
    assert exposed is not None and "crm.token" in exposed and TOKEN not in exposed
    config.chmod(0o640)  # root:gateway, as the README installs it
    assert secrets_exposed(load_config(config)) is None
    config.chmod(0o644)
    config.write_text('[crm]\nurl = "http://127.0.0.1:9"\n', encoding="utf-8")  # the token from the environment
    assert secrets_exposed(load_config(config, environ={"GATEWAY_CRM_TOKEN": TOKEN})) is None


async def test_the_daemon_warns_at_start_up_about_a_readable_config_with_secrets(harness: Harness) -> None:
    config = harness.tmp_path / "gateway.toml"
    config.write_text(f'[[modems]]\nid = "m1"\nport = "/dev/null"\npin = "{PIN}"\n', encoding="utf-8")
    config.chmod(0o604)
    harness.config = dataclasses.replace(harness.config, path=config)
    stream = io.StringIO()
    logs.configure(level="info", fmt="json", privacy=True, stream=stream)
    try:
        await harness.start()
    finally:
        logs.configure(level="info", fmt="json", privacy=True, stream=io.StringIO())
    [warning] = [json.loads(line) for line in stream.getvalue().splitlines() if "config_readable_by_others" in line]
    assert warning["level"] == "warning" and "a modem's pin" in warning["problem"]
    assert warning["fix"] == f"chmod 640 {config}" and PIN not in stream.getvalue()
