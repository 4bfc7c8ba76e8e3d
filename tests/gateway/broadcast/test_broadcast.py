"""Broadcasts through the real daemon, library, ptys and SQLite: plans, pacing, control."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.broadcast.contacts import Contact
from gateway.broadcast.operations import (
    BroadcastRequest,
    broadcast,
    campaign_status,
    control,
    create_broadcast,
    plan_broadcast,
)
from gateway.broadcast.pacing import DEPTH_PER_SIM, MIN_DEPTH
from gateway.conversation.phones import language_prefixes
from gateway.store import AudienceSpec, Store, utcnow
from gateway.store.configured import open_store
from tests.gateway.harness import Harness, eventually, sql_file
from tests.gateway.make_tickets import open_tickets, opt_out

NORTH = AudienceSpec(groups=("north",))
LONG_AREA = "the northern districts of the city, from the river to the ring road"


def fa_phone(i: int) -> str:
    return f"+98912{5000000 + i:07d}"


def en_phone(i: int) -> str:
    return f"+447700{900000 + i:06d}"


async def add_contacts(store: Store, fa: int, en: int, group: str = "north") -> None:
    people = [Contact(fa_phone(i), language="fa") for i in range(fa)]
    people += [Contact(en_phone(i), language="en") for i in range(en)]
    await store.upsert_contacts(people, group)


def received(h: Harness) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in h.emulators:
        for m in e.sent:
            out.setdefault(m.number, []).append(m.text)
    return out


async def done(h: Harness, campaign_id: int, timeout: float = 30.0) -> None:
    async def finished() -> bool:
        c = await h.store.campaign(campaign_id)
        return c is not None and c.status == "done"

    await eventually(finished, timeout)


async def test_the_dry_run_says_what_is_then_sent(harness: Harness) -> None:
    await harness.start()
    await add_contacts(harness.store, fa=6, en=4)
    request = BroadcastRequest("outage", {"area": LONG_AREA, "eta": "18:00"}, NORTH)
    plan, nothing, _ = await broadcast(harness.config, request, dry_run=True)
    assert nothing is None and await harness.store.campaigns() == []
    assert plan.audience.by_language == {"fa": 6, "en": 4}
    assert (plan.rendered["fa"].parts, plan.rendered["en"].parts) == (2, 1)  # UCS-2 is 70 a part
    assert plan.parts_per_run == 6 * 2 + 4 * 1 and [s.modem_id for s in plan.sims] == ["m1", "m2"]
    assert plan.estimate.finishes_today
    _, campaign_id, _ = await broadcast(harness.config, request, dry_run=False)
    assert campaign_id is not None
    await done(harness, campaign_id)
    got = received(harness)
    assert sorted(got) == sorted([fa_phone(i) for i in range(6)] + [en_phone(i) for i in range(4)])
    assert all(len(texts) == 1 for texts in got.values())  # one message each
    assert got[fa_phone(0)] == [plan.rendered["fa"].text] and got[en_phone(0)] == [plan.rendered["en"].text]
    used = await harness.sql("SELECT SUM(parts) FROM sim_usage WHERE lane = 'broadcast'")
    assert used == [(plan.parts_per_run,)]  # the quota it said it would take
    status = await campaign_status(harness.config, campaign_id)
    assert (status["status"], status["sent"], status["remaining"], status["failed"]) == ("done", 10, 0, 0)
    public = json.loads((harness.tmp_path / "public" / "broadcasts.json").read_text(encoding="utf-8"))
    assert public["notices"][0]["texts"]["fa"] == plan.rendered["fa"].text
    assert "&lt;" not in (harness.tmp_path / "public" / "index.html").read_text(encoding="utf-8")


async def test_customers_replies_overtake_a_ten_thousand_recipient_broadcast(harness: Harness) -> None:
    await harness.start()
    for e in harness.emulators:
        e.set_send_latency(0.05)  # 40 SMS/s across the bank: 10,000 take minutes
    await add_contacts(harness.store, fa=10_000, en=0)
    _, campaign_id, _ = await broadcast(
        harness.config, BroadcastRequest("restored", {"area": "شمال"}, NORTH), dry_run=False
    )
    assert campaign_id is not None
    await eventually(lambda: sum(len(e.sent) for e in harness.emulators) >= 20)
    depth = max(MIN_DEPTH, DEPTH_PER_SIM * 2)
    queued = await harness.sql(f"SELECT COUNT(*) FROM outbox WHERE campaign_id = {campaign_id} AND status = 'queued'")
    assert queued[0][0] <= depth  # the queue stays shallow: the rest waits, held
    customer = "+989121110001"
    harness.emu("m1").inject_sms(customer, "قطع ۴۸۲۱۳")
    reply = await harness.reply_to(customer, timeout=10)
    assert "ثبت شد" in reply.text
    counts = await campaign_status(harness.config, campaign_id)
    assert counts["remaining"] >= 9_000  # the reply did not wait for the broadcast
    assert (await control(harness.config, campaign_id, "cancel")).startswith(f"campaign {campaign_id} cancelled")
    await eventually(lambda: _nothing_active(harness, campaign_id))


async def _nothing_active(h: Harness, campaign_id: int) -> bool:
    rows = await h.sql(
        f"SELECT COUNT(*) FROM outbox WHERE campaign_id = {campaign_id} AND status IN ('held', 'queued', 'sending')"
    )
    return rows[0][0] == 0


async def test_reporters_of_a_window_minus_opted_out_numbers(tmp_path: Path) -> None:
    from gateway.config import Config, SiteConfig

    config = Config(site=SiteConfig(id="12")).with_database(tmp_path / "gw.db")
    now = utcnow()
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        recent = await open_tickets(store, 4, now=now - timedelta(hours=2))
        await open_tickets(store, 2, now=now - timedelta(hours=7))  # before the window
        await open_tickets(store, 2, category="billing", code="2", now=now - timedelta(hours=1))  # another category
        again = await open_tickets(store, 1, phones=[recent[0].phone], now=now - timedelta(minutes=5))  # twice: once
        await opt_out(store, recent[1].phone)
        request = BroadcastRequest(
            "restored", {"area": "North"}, AudienceSpec(reporters=("outage",), since=now - timedelta(hours=6))
        )
        plan, _, _ = await broadcast(config, request, dry_run=True, now=now)
        await store.build_audience(request.audience, default_language="fa", prefixes=language_prefixes())
        phones = {p for p, _ in await store.audience_sample(limit=100)}
    assert phones == {recent[0].phone, recent[2].phone, recent[3].phone}
    assert again[0].phone == recent[0].phone
    assert plan.recipients == 3 and plan.audience.opted_out == 1


@pytest.mark.slow
async def test_pause_resume_and_stop_during_a_campaign(harness: Harness) -> None:
    await harness.start()
    for e in harness.emulators:
        e.set_send_latency(0.05)
    await add_contacts(harness.store, fa=200, en=0)
    _, campaign_id, _ = await broadcast(
        harness.config, BroadcastRequest("restored", {"area": "x"}, NORTH), dry_run=False
    )
    assert campaign_id is not None
    await eventually(lambda: sum(len(e.sent) for e in harness.emulators) >= 5)
    await control(harness.config, campaign_id, "pause")
    await eventually(lambda: _none_sending(harness, campaign_id))
    paused_at = sum(len(e.sent) for e in harness.emulators)
    await harness.rounds("campaigns", 3)
    assert sum(len(e.sent) for e in harness.emulators) == paused_at  # nothing more while paused
    stopper = fa_phone(199)
    harness.emu("m2").inject_sms(stopper, "لغو")  # STOP while the campaign runs
    await eventually(lambda: stopper in received(harness))
    await control(harness.config, campaign_id, "resume")
    await done(harness, campaign_id, timeout=60)
    got = received(harness)
    assert got[stopper] == ["دیگر اطلاعیه‌ای ارسال نمی‌شود. برای دریافت دوباره «شروع» بفرستید."]
    assert all(len(got[fa_phone(i)]) == 1 for i in range(199))
    status = await campaign_status(harness.config, campaign_id)
    assert (status["sent"], status["cancelled_messages"]) == (199, 1)


async def _none_sending(h: Harness, campaign_id: int) -> bool:
    rows = await h.sql(
        f"SELECT COUNT(*) FROM outbox WHERE campaign_id = {campaign_id} AND status IN ('queued', 'sending')"
    )
    return rows[0][0] == 0


async def test_outside_its_window_a_campaign_waits(harness: Harness) -> None:
    await harness.start()
    await add_contacts(harness.store, fa=5, en=0)
    local = datetime.now(ZoneInfo(harness.config.site.timezone))
    later = f"{(local + timedelta(hours=2)):%H}:00-{(local + timedelta(hours=3)):%H}:00"
    request = BroadcastRequest("restored", {"area": "x"}, NORTH, window=later)
    plan, campaign_id, _ = await broadcast(harness.config, request, dry_run=False)
    assert campaign_id is not None and plan.estimate.finish is not None and plan.estimate.finish > local
    await harness.rounds("campaigns", 3)
    assert received(harness) == {}
    status = await campaign_status(harness.config, campaign_id)
    assert status["by_status"] == {"held": 5} and status["window"] == later


async def test_staged_updates_go_again_on_schedule_to_the_same_audience(harness: Harness) -> None:
    await harness.start()
    await add_contacts(harness.store, fa=3, en=1)
    request = BroadcastRequest("update", {"area": "x", "eta": "21:00"}, NORTH, every=timedelta(minutes=30), times=2)
    plan, campaign_id, _ = await broadcast(harness.config, request, dry_run=False)
    assert campaign_id is not None and plan.runs == 2
    await eventually(lambda: sum(len(t) for t in received(harness).values()) == 4)
    await harness.rounds("campaigns", 2)
    campaign = await harness.store.campaign(campaign_id)
    assert campaign is not None and (campaign.status, campaign.runs_done) == ("running", 1)
    harness.clock.advance(31 * 60)  # half an hour later
    await done(harness, campaign_id)
    got = received(harness)
    assert all(len(texts) == 2 and texts[0] == texts[1] for texts in got.values()) and len(got) == 4


async def test_a_rate_cap_paces_the_campaign(harness: Harness) -> None:
    await harness.start()
    await add_contacts(harness.store, fa=30, en=0)
    _, campaign_id, _ = await broadcast(
        harness.config, BroadcastRequest("restored", {"area": "x"}, NORTH, rate=6), dry_run=False
    )
    assert campaign_id is not None
    await eventually(lambda: sum(len(t) for t in received(harness).values()) == 1)  # 6 a minute: one now ...
    await harness.rounds("campaigns", 3)  # three seconds
    assert sum(len(t) for t in received(harness).values()) == 1
    await harness.rounds("campaigns", 7)  # ... and the next ten seconds after the first
    await eventually(lambda: sum(len(t) for t in received(harness).values()) == 2)
    await harness.rounds("campaigns", 3)
    assert sum(len(t) for t in received(harness).values()) == 2


@pytest.mark.slow
def test_a_daemon_killed_mid_campaign_resumes_and_sends_each_message_once(tmp_path: Path) -> None:
    """kill -9 while a campaign is half sent; after the restart every recipient has exactly
    one message, except at most one per modem that was on air at the kill."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sim_bank.simulator import EmulatorBank

    recipients = 300
    with EmulatorBank(2, tmp_path / "dev", send_latency=0.02) as bank:
        config = tmp_path / "gateway.toml"
        modems = "".join(
            f'[[modems]]\nid = "{e.modem_id}"\nport = "{e.link}"\nbaudrate = 115200\nper_minute = 10000\n'
            f"per_day = 10000\n"
            for e in bank.emulators
        )
        config.write_text(f'[site]\nid = "7"\n[storage]\ndatabase = "gw.db"\n[logging]\nformat = "json"\n{modems}')
        gw = [sys.executable, "-m", "gateway.cli"]
        contacts = tmp_path / "c.csv"
        contacts.write_text("phone\n" + "".join(f"{fa_phone(i)}\n" for i in range(recipients)), encoding="utf-8")
        subprocess.run([*gw, "contacts", "import", str(contacts), "--group", "all", "-c", str(config)], check=True,
                       capture_output=True)  # fmt: skip
        made = subprocess.run(
            [*gw, "broadcast", "--template", "restored", "--var", "area=x", "--group", "all", "--yes", "-c",
             str(config)], capture_output=True, text=True,
        )  # fmt: skip
        assert made.returncode == 0 and "campaign 1 created: 300 recipient(s)" in made.stdout, made.stderr

        def start() -> subprocess.Popen[bytes]:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            return subprocess.Popen([*gw, "run", "-c", str(config)], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip

        def on_air() -> int:
            return sum(len(e.sent) for e in bank.emulators)

        daemon = start()
        deadline = time.monotonic() + 60
        while on_air() < recipients // 3:
            assert time.monotonic() < deadline and daemon.poll() is None
            time.sleep(0.01)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        at_kill = on_air()
        assert at_kill < recipients
        daemon = start()
        try:
            deadline = time.monotonic() + 90
            status: dict[str, object] = {}
            while status.get("status") != "done":
                assert time.monotonic() < deadline, status
                time.sleep(0.3)
                out = subprocess.run([*gw, "broadcast", "status", "1", "--json", "-c", str(config)],
                                     capture_output=True, text=True)  # fmt: skip
                status = json.loads(out.stdout) if out.returncode == 0 else {}
        finally:
            daemon.send_signal(signal.SIGINT)
            daemon.wait(timeout=30)
        per_number: dict[str, int] = {}
        for e in bank.emulators:
            for m in e.sent:
                per_number[m.number] = per_number.get(m.number, 0) + 1
    assert set(per_number) == {fa_phone(i) for i in range(recipients)}  # nobody missed
    twice = [n for n, c in per_number.items() if c > 1]
    assert all(c <= 2 for c in per_number.values()) and len(twice) <= len(bank.emulators), twice
    assert status["sent"] == recipients and status["remaining"] == 0


def test_broadcast_commands_plan_confirm_list_pause_and_cancel(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gateway.cli import main

    config = tmp_path / "gateway.toml"
    config.write_text(
        '[site]\nid = "7"\n[storage]\ndatabase = "gw.db"\n'
        '[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\n[[modems]]\nid = "m2"\nport = "/dev/ttyUSB1"\n'
    )
    people = tmp_path / "people.csv"
    people.write_text("phone,language\n09121234567,fa\n09121234568,fa\n+447700900123,en\n", encoding="utf-8")
    runner = CliRunner(env={"USER": "sara"})

    def gw(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(main, [*args, "-c", str(config)], input=stdin)
        return result.exit_code, result.output

    assert gw("contacts", "import", str(people), "--group", "north")[0] == 0
    send = ("broadcast", "--template", "outage", "--group", "north", "--var", "area=North", "--var", "eta=18:00")
    code, out = gw(*send, "--dry-run")
    assert code == 0 and "Dry run: notice 'outage' to 3 recipient(s)" in out and "Total: 3 SMS parts" in out
    assert "Estimated finish:" in out and "m1" in out and "broadcast left today" in out
    code, out = gw(*send, stdin="n\n")
    assert code == 0 and "Send to 3 recipient(s) (3 parts)?" in out and "not sent" in out
    assert json.loads(gw("broadcast", "list", "--json")[1]) == []
    code, out = gw(*send, "--yes")
    assert code == 0 and "campaign 1 created: 3 recipient(s)" in out
    assert "Power outage in North" in (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    [campaign] = json.loads(gw("broadcast", "list", "--json")[1])
    assert (campaign["status"], campaign["recipients"], campaign["audience"]) == ("running", 3, {"groups": ["north"]})
    assert (campaign["created_by"], campaign["approved_by"]) == ("sara", None)  # the CLI never waits for approval
    assert "campaign 1 paused" in gw("broadcast", "pause", "1")[1]
    assert gw("broadcast", "pause", "1")[0] == 1  # already paused: a clear error
    assert "3 message(s) will not be sent" in gw("broadcast", "cancel", "1")[1]
    assert "Power outage in North" not in (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    code, out = gw("broadcast", "--template", "outage", "--var", "area=x")
    assert code == 2 and "give an audience" in out
    code, out = gw("broadcast", "--template", "outage", "--reporters", "outage", "--var", "area=x")
    assert code == 2 and "--reporters needs --since" in out
    code, out = gw(*send, "--every", "1m", "--times", "3", "--dry-run")
    assert code == 1 and "--every must be at least 5 minutes" in out


async def test_a_new_run_serves_those_still_waiting_before_anyone_gets_a_repeat(tmp_path: Path) -> None:
    """A staged update whose run is not out when the next starts: the waiting keep their
    place, only those already served get the new run, and nobody is cancelled."""
    from gateway.config import Config, SiteConfig

    config = Config(site=SiteConfig(id="12")).with_database(tmp_path / "gw.db")
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        await add_contacts(store, fa=10, en=0)
        request = BroadcastRequest("update", {"area": "x", "eta": "1"}, NORTH, every=timedelta(hours=1), times=3)
        _, campaign_id, _ = await broadcast(config, request, dry_run=False)
        _sql(
            tmp_path,  # the first three went out; the other seven still wait
            f"UPDATE outbox SET status = 'sent' WHERE campaign_id = {campaign_id} AND id IN "
            f"(SELECT id FROM outbox WHERE campaign_id = {campaign_id} ORDER BY id LIMIT 3)",
        )
        added = await store.start_due_run(campaign_id, utcnow() + timedelta(minutes=61))
        assert added == 3
        rows = _sql(
            tmp_path, f"SELECT run, status, COUNT(*) FROM outbox WHERE campaign_id = {campaign_id} GROUP BY run, status"
        )
        assert sorted(rows) == [(1, "held", 7), (1, "sent", 3), (2, "held", 3)]
        held_order = _sql(
            tmp_path, f"SELECT run FROM outbox WHERE campaign_id = {campaign_id} AND status = 'held' ORDER BY id"
        )
        assert [r[0] for r in held_order] == [1] * 7 + [2] * 3  # the waiting go first
        assert await store.start_due_run(campaign_id, utcnow() + timedelta(minutes=62)) is None  # not due again yet


def _sql(tmp_path: Path, statement: str) -> list[tuple[object, ...]]:
    return sql_file(tmp_path / "gw.db", statement)


async def test_a_number_that_sends_stop_while_the_operator_confirms_is_left_out(tmp_path: Path) -> None:
    from gateway.config import Config, SiteConfig

    config = Config(site=SiteConfig(id="12")).with_database(tmp_path / "gw.db")
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        await add_contacts(store, fa=3, en=0)

    async with await open_store(config) as store:
        plan = await plan_broadcast(store, config, BroadcastRequest("restored", {"area": "x"}, NORTH))
        # what intake commits when STOP comes in while the operator reads the plan
        _sql(tmp_path, f"INSERT INTO customers (phone, opted_out, updated_at) VALUES ('{fa_phone(1)}', 1, 'now')")
        campaign_id, _ = await create_broadcast(store, config, plan, created_by="sara")
    assert plan.recipients == 3  # planned before the STOP
    phones = _sql(tmp_path, f"SELECT phone FROM outbox WHERE campaign_id = {campaign_id} ORDER BY id")
    assert [p for (p,) in phones] == [fa_phone(0), fa_phone(2)]
    assert _sql(tmp_path, f"SELECT recipients FROM campaigns WHERE id = {campaign_id}") == [(2,)]


async def test_the_measured_rate_is_the_rate_while_busy_not_diluted_by_idle_time(tmp_path: Path) -> None:
    now = utcnow()
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        sends = [now - timedelta(minutes=50) + timedelta(seconds=6 * i) for i in range(6)]  # busy: one per 6 s
        sends += [now - timedelta(minutes=5) + timedelta(seconds=6 * i) for i in range(6)]  # ... and later again
        for i, at in enumerate(sends):
            _sql(tmp_path, f"INSERT INTO outbox_parts (outbox_id, part, modem_id, reference, sent_at) "
                           f"VALUES ({i}, 1, 'm1', {i}, '{at.isoformat(timespec='milliseconds')}')")  # fmt: skip
        rates = await store.measured_rates(now - timedelta(hours=1))
    assert abs(rates["m1"] - 1 / 6) < 0.01  # 10 parts a minute, not 12 parts over 50 minutes
