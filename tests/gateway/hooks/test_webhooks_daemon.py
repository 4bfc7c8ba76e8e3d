"""Webhooks with the real daemon on emulated modems and a real receiver on 127.0.0.1: a
customer's SMS becomes a signed ``ticket.opened``, each event once by id across a restart; a
receiver that answered 500 gets the same event again, with the same id; a dead receiver shows
in ``webhooks list`` while replies still leave. Retries move the daemon's clock, not the test's."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.crm.protocol import verify
from gateway.hooks.delivery import BATCH
from gateway.hooks.rules import GIVE_UP_AFTER
from gateway.store import Store
from tests.gateway.harness import Harness, eventually, sql_file
from tests.gateway.hooks.receiver import Receiver, refused_url
from tests.gateway.make_tickets import open_tickets

SECRET = "hook-s3cret"
GATEWAY = [sys.executable, "-m", "gateway.cli"]
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


async def _cli(h: Harness, *args: str, stdin: str | None = None) -> Result:
    # the command runs its own event loop: in a thread, as a second process would beside the daemon
    return await asyncio.to_thread(CliRunner().invoke, main, [*args, "--db", str(h.database)], stdin)


async def _add(h: Harness, url: str, events: str) -> None:
    out = await _cli(h, "webhooks", "add", url, "--events", events, "--secret-stdin", stdin=SECRET + "\n")
    assert out.exit_code == 0, out.output
    assert out.output.startswith("webhook #1 added: ") and SECRET not in out.output


async def _listed(h: Harness) -> dict[str, Any]:
    out = await _cli(h, "webhooks", "list", "--json")
    assert out.exit_code == 0, out.output
    assert SECRET not in out.output
    [hook] = json.loads(_without_logs(out.output))
    return dict(hook)


def _without_logs(output: str) -> str:
    """The command's output without the daemon's log lines (the daemon runs in this process)."""
    return "\n".join(line for line in output.splitlines() if not LOG_LINE.match(line))


def _of(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["type"] == kind]


async def test_a_customer_s_sms_reaches_the_receiver_as_a_signed_ticket_opened_once_across_a_restart(
    harness: Harness,
) -> None:
    customer = "+989121110001"
    with Receiver() as receiver:
        await harness.start()
        await _add(harness, receiver.url, "ticket.opened,message.received")
        harness.emu("m1").inject_sms(customer, "قطع ۴۸۲۱۳")
        await eventually(lambda: _of(receiver, "ticket.opened"), timeout=30)

        [(headers, body)] = [(h, b) for h, b in receiver.requests() if json.loads(b)["type"] == "ticket.opened"]
        assert verify(SECRET, headers["X-Gateway-Timestamp"], body, headers["X-Gateway-Signature"], now=time.time())
        assert not verify("another secret", headers["X-Gateway-Timestamp"], body, headers["X-Gateway-Signature"],
                          now=time.time())  # fmt: skip
        event = json.loads(body)
        assert set(event) == {"id", "type", "created_at", "data"}
        assert headers["X-Gateway-Event-Id"] == event["id"] and event["id"].startswith("12-")
        assert (event["data"]["ref"], event["data"]["phone"], event["data"]["text"]) == (
            "12-000001",
            customer,
            "قطع ۴۸۲۱۳",
        )
        await eventually(lambda: _of(receiver, "message.received"), timeout=10)
        assert _of(receiver, "message.received")[0]["data"]["ticket_id"] == event["data"]["id"]
        assert {e["type"] for e in receiver.events()} == {"ticket.opened", "message.received"}  # what it asked for

        await harness.stop()
        await harness.start()
        harness.emu("m2").inject_sms("+989121110002", "قطع ۴۸۲۱۴")
        await eventually(lambda: len(_of(receiver, "ticket.opened")) == 2, timeout=30)
        await eventually(lambda: len(_of(receiver, "message.received")) == 2, timeout=10)
        await harness.rounds("webhooks", 2)
        ids = [e["id"] for e in receiver.events()]
        assert len(ids) == len(set(ids)) == 4  # each event once, by id
        assert [e["data"]["ref"] for e in _of(receiver, "ticket.opened")] == ["12-000001", "12-000002"]
        hook = await _listed(harness)
        assert (hook["backlog"], hook["status"], hook["last_error"]) == (0, "active", None)
        assert hook["last_success_at"] is not None


async def test_a_receiver_that_answered_500_gets_the_event_again_with_the_same_id(harness: Harness) -> None:
    with Receiver(answers=[500]) as receiver:
        await harness.start()
        await _add(harness, receiver.url, "ticket.opened")
        harness.emu("m1").inject_sms("+989121110003", "قطع ۴۸۲۱۵")
        await eventually(lambda: len(receiver.events()) == 1, timeout=30)
        await harness.rounds("webhooks", 2)  # an idle round or two: too early for the retry
        assert len(receiver.events()) == 1
        hook = await _listed(harness)
        assert (hook["backlog"], hook["attempts"], hook["last_error"]) == (1, 1, "HTTP 500")

        harness.clock.advance(15)  # past the first retry's backoff (10 s, +-20 %)
        await harness.rounds("webhooks", 2)
        await eventually(lambda: len(receiver.events()) == 2, timeout=10)
        first, again = receiver.requests()
        assert first[1] == again[1] and first[0]["X-Gateway-Event-Id"] == again[0]["X-Gateway-Event-Id"]
        hook = await _listed(harness)
        assert (hook["backlog"], hook["attempts"]) == (0, 0) and hook["last_success_at"] is not None


async def test_a_dead_receiver_shows_in_webhooks_list_while_replies_leave_on_time(harness: Harness) -> None:
    with structlog.testing.capture_logs() as logs:
        customer = "+989121110004"
        await harness.start()
        await _add(harness, refused_url(), "ticket.opened,message.received,message.sent")
        began = time.monotonic()
        harness.emu("m1").inject_sms(customer, "قطع ۴۸۲۱۶")
        reply = await harness.reply_to(customer, timeout=30)
        assert "12-000001" in reply.text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
        assert time.monotonic() - began < 10  # replies are not held by the receiver being down

        async def failing() -> bool:
            return (await _listed(harness))["last_error"] is not None

        await eventually(failing, timeout=10)
        hook = await _listed(harness)
        assert hook["status"] == "active" and "ConnectError" in hook["last_error"]
        assert hook["backlog"] >= 2 and hook["last_success_at"] is None
        shown = await _cli(harness, "webhooks", "list")
        assert "ConnectError" in shown.output and "never" in shown.output

        harness.clock.advance(GIVE_UP_AFTER.total_seconds() + 3600)  # three days of failing: given up
        await harness.rounds("webhooks", 2)

        async def dead() -> bool:
            return (await _listed(harness))["status"] == "dead"

        await eventually(dead, timeout=10)
        assert "dead" in (await _cli(harness, "webhooks", "list")).output
    events = {e["event"] for e in logs}
    assert {"webhook_failed", "webhook_dead"} <= events and SECRET not in repr(logs)


@pytest.mark.slow  # over ~3 s: a real process killed or a receiver timing out
def test_a_kill_9_of_the_daemon_loses_no_event_and_repeats_some_with_their_ids(tmp_path: Path) -> None:
    """The daemon is killed while a slow receiver takes its events: after the restart every
    event arrives; those acknowledged since the last committed cursor may come again, the same
    body under the same id (at least once, deduplicated by id)."""
    db = tmp_path / "gw.db"

    async def make() -> None:
        async with await Store.open(db, site="12") as store:
            await open_tickets(store, 60)  # 120 events: message.received and ticket.opened each

    asyncio.run(make())
    journal = [str(r[0]) for r in sql_file(db, "SELECT id FROM events ORDER BY seq")]
    assert len(journal) == 120
    with Receiver(delay=0.02) as receiver:
        add = CliRunner().invoke(
            main, ["webhooks", "add", receiver.url, "--events", "ticket.opened,message.received", "--db", str(db)],
            env={"GATEWAY_WEBHOOK_SECRET": SECRET},
        )  # fmt: skip
        assert add.exit_code == 0, add.output
        sql_file(db, "UPDATE webhooks SET after_seq = 0")  # the events journalled before it, too
        run = [*GATEWAY, "run", "--simulate", "1", "--db", str(db)]
        daemon = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while len(receiver.events()) < 30:
                assert time.monotonic() < deadline and daemon.poll() is None, "no events reached the receiver"
                time.sleep(0.01)
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
        before = len(receiver.events())
        daemon = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while {e["id"] for e in receiver.events()} != set(journal):
                assert time.monotonic() < deadline and daemon.poll() is None, "events were lost"
                time.sleep(0.05)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        got = receiver.requests()
    ids = [h["X-Gateway-Event-Id"] for h, _ in got]
    assert sorted(set(ids), key=journal.index) == journal
    firsts = {}
    for i, (_, body) in zip(ids, got, strict=True):
        assert firsts.setdefault(i, body) == body  # a repeat is the same event, byte for byte
    repeats = len(ids) - len(journal)
    assert 0 <= repeats <= BATCH and before >= 30
    # in journal order per hook, a repeat run starting again from the last committed cursor
    first_seen = [i for n, i in enumerate(ids) if i not in ids[:n]]
    assert first_seen == journal
