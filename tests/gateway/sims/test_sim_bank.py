"""The SIM bank under load and under faults: real library, real ptys, emulated modems."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import HealthConfig
from gateway.sims import operations
from gateway.store import Store
from tests.gateway.harness import Harness, eventually


@pytest.fixture
async def bank4(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, count=4)
    yield h
    await h.stop()
    h.close()


async def _queue(store: Store, count: int, lane: str = "broadcast", prefix: str = "+98912100") -> list[int]:
    return [await store.enqueue(f"{prefix}{i:04d}", f"notice {i}", lane=lane) for i in range(count)]


async def _settle(h: Harness, statuses: tuple[str, ...] = ("sent", "delivered", "failed", "unknown")) -> None:
    async def settled() -> bool:
        placeholders = ", ".join(f"'{s}'" for s in statuses)
        [(left,)] = await h.sql(f"SELECT COUNT(*) FROM outbox WHERE status NOT IN ({placeholders})")
        return left == 0

    await eventually(settled, timeout=30)


async def test_four_modems_share_200_messages_within_quota_and_replies_overtake_broadcasts(bank4: Harness) -> None:
    h = bank4
    h.configure(modems={"per_minute": 60, "reply_reserve": 0.0})  # the whole minute for the broadcast
    for e in h.emulators:
        e.set_send_latency(0.02)
    await h.start()
    await _queue(h.store, 200)
    await eventually(lambda: sum(len(e.sent) for e in h.emulators) >= 20)
    h.emu("m3").inject_sms("+989121234567", "1 48213")  # a customer, while the broadcast is under way
    await h.reply_to("+989121234567")
    await _settle(h)
    sent = Counter(m.number for e in h.emulators for m in e.sent)
    assert len([n for n in sent if n.startswith("+98912100")]) == 200 and max(sent.values()) == 1
    assert all(len(e.sent) > 0 for e in h.emulators)  # every modem was kept busy
    assert all(len(e.sent) <= 60 for e in h.emulators)  # none over its per-minute quota
    [(reply_sent_at,)] = await h.sql("SELECT sent_at FROM outbox WHERE lane = 'reply'")
    [(later,)] = await h.sql(f"SELECT COUNT(*) FROM outbox WHERE lane = 'broadcast' AND sent_at > '{reply_sent_at}'")
    assert later > 0  # the reply did not wait for the broadcast queue to drain


async def test_per_minute_quota_holds_back_the_rest(harness: Harness) -> None:
    h = harness
    h.configure(modems={"per_minute": 3})
    await h.start()
    await _queue(h.store, 10)
    await eventually(lambda: sum(len(e.sent) for e in h.emulators) >= 4)
    h.clock.advance(30)  # half a minute later ...
    await h.rounds("dispatcher")
    assert [len(e.sent) for e in h.emulators] == [2, 2]  # two SIMs, three a minute each, one kept for replies
    assert await h.sql("SELECT COUNT(*) FROM outbox WHERE status = 'queued'") == [(6,)]
    h.clock.advance(31)  # ... the minute is over: two more each, without a wake
    await eventually(lambda: [len(e.sent) for e in h.emulators] == [4, 4])


@pytest.mark.slow
async def test_sim_failing_every_send_is_quarantined_and_comes_back(tmp_path: Path) -> None:
    h = Harness(tmp_path, count=3)
    h.configure(health=HealthConfig(poll_interval=0.5, strikes=2, quarantine_base=1.0, quarantine_max=2.0))
    try:
        h.emu("m1").fail_sends_at_rate(1.0, code=38)  # network out of order, on every send
        await h.start()
        await _queue(h.store, 30)
        await _settle(h)
        assert h.emu("m1").sent == []
        assert len(h.emu("m2").sent) + len(h.emu("m3").sent) == 30  # all went out via the others
        assert await h.sql("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'") == [(0,)]
        record = h.daemon.bank.health("m1")  # type: ignore[union-attr]
        assert record.quarantined and "+CMS ERROR: 38" in (record.reason or "")
        assert "9121" not in (record.reason or "")  # no piece of the recipient's number in the reason
        h.emu("m1").fail_sends_at_rate(0)  # the fault clears
        await eventually(lambda: "m1" in h.daemon.bank.ready(), timeout=10)  # type: ignore[union-attr]
        await _queue(h.store, 9, prefix="+98912200")
        await _settle(h)
        assert len(h.emu("m1").sent) > 0  # it takes work again
        await h.daemon.monitor.publish()  # type: ignore[union-attr]
        rows = {r["modem_id"]: r for r in await operations.sim_statuses(h.config)}
        assert "+CMS ERROR: 38" in (rows["m1"]["last_error"] or "")  # what gateway modems shows
    finally:
        await h.stop()
        h.close()


async def test_pulling_a_modem_mid_send_moves_its_work_and_it_reconnects(harness: Harness) -> None:
    h = harness
    await h.start()
    h.emu("m1").set_send_latency(1.0)
    h.emu("m2").set_send_latency(0.05)
    ids = await _queue(h.store, 6, lane="reply")

    async def m1_busy() -> bool:
        return await h.sql("SELECT COUNT(*) FROM outbox WHERE status = 'sending' AND modem_id = 'm1'") == [(1,)]

    await eventually(m1_busy)
    h.emu("m1").unplug()
    await _settle(h)
    await eventually(lambda: h.daemon.bank.states()["m1"].state == "down")  # type: ignore[union-attr]
    h.emu("m1").replug()
    await eventually(lambda: "m1" in h.daemon.bank.ready(), timeout=15)  # type: ignore[union-attr]
    rows = await h.sql("SELECT id, phone, status FROM outbox ORDER BY id")
    assert [r[0] for r in rows] == ids and {r[2] for r in rows} == {"sent"}
    handsets = Counter(m.number for e in h.emulators for m in e.sent)
    assert set(handsets) == {r[1] for r in rows}
    # the one in flight when the cable was pulled may have reached its handset before the
    # modem could say so: a reply is sent again rather than risk silence, nothing else twice
    assert sum(handsets.values()) <= len(rows) + 1


async def test_daily_quota_keeps_a_reserve_for_replies_and_resets_at_local_midnight(tmp_path: Path) -> None:
    h = Harness(tmp_path, count=1)
    h.configure(modems={"per_day": 5, "reply_reserve": 0.4})  # broadcasts may use 3 of 5
    clock = _Clock(datetime(2026, 11, 23, 20, 20, tzinfo=UTC))  # 23:50 in Tehran
    try:
        await h.start(clock=clock)
        await _queue(h.store, 5)
        await eventually(lambda: len(h.emu().sent) == 3)
        await h.rounds("dispatcher")
        assert len(h.emu().sent) == 3  # the broadcast stops at the reserve
        h.emu().inject_sms("+989121234567", "1 48213")
        await h.reply_to("+989121234567")  # the customer still gets an answer
        clock.now += timedelta(minutes=15)  # 00:05 in Tehran: a new day
        h.daemon.dispatcher.wake()  # type: ignore[union-attr]
        await eventually(lambda: len(h.emu().sent) == 6)
        assert await h.daemon.store.usage_on("2026-11-24") == {"m1": {"broadcast": 2}}  # type: ignore[union-attr]
    finally:
        await h.stop()
        h.close()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("how", ["direct", "split", "stored"])
async def test_delivery_reports_mark_messages_delivered(harness: Harness, how: str) -> None:
    h = harness
    for e in h.emulators:
        e.delivery_reports([0x20, 0x00], split=how == "split", stored=how == "stored")  # trying, then delivered
    await h.start()
    await h.store.enqueue("+989121234567", "short")
    await h.store.enqueue("+989121234568", "long " * 60)  # two parts, two reports
    await _settle(h, ("delivered",))
    assert await h.sql("SELECT status, parts FROM outbox ORDER BY id") == [("delivered", 1), ("delivered", 2)]
    assert await h.sql("SELECT COUNT(*) FROM outbox_parts WHERE status = 'delivered'") == [(3,)]
    if how == "stored":
        await eventually(lambda: all(e.stored("SR") == {} for e in h.emulators))  # report memory cleaned


async def test_failed_delivery_report_fails_the_message(harness: Harness) -> None:
    for e in harness.emulators:
        e.delivery_reports([0x41])
    await harness.start()
    await harness.store.enqueue("+989121234567", "to a phone that is gone")
    await _settle(harness, ("failed",))
    [(error,)] = await harness.sql("SELECT last_error FROM outbox")
    assert "not delivered" in str(error)


async def test_persian_balance_is_parsed_and_shown(harness: Harness) -> None:
    h = harness
    h.configure(modems={"balance_ussd": "*140#", "low_balance": 50_000.0})
    h.emu("m1").set_ussd_reply("*140#", "مانده حساب شما ۱۲٬۳۴۵ ریال است", dcs=72)  # UCS-2, as hex
    h.emu("m2").set_ussd_reply("*140#", "Your balance is 98,765 Rials", dcs=15)
    daemon = await h.start()
    assert daemon.ussd is not None and daemon.monitor is not None
    await daemon.ussd.check_balance("m1")
    await daemon.ussd.check_balance("m2")
    await daemon.monitor.publish()
    rows = {r["modem_id"]: r for r in await operations.sim_statuses(h.config)}
    assert Decimal(rows["m1"]["balance"]) == 12345 and rows["m1"]["balance_currency"] == "IRR"
    assert rows["m1"]["low_balance"] == 1 and rows["m2"]["low_balance"] == 0
    assert Decimal(rows["m2"]["balance"]) == 98765


async def test_ussd_from_the_cli_with_a_menu_reply(harness: Harness) -> None:
    h = harness
    h.emu("m1").set_ussd_reply("*100#", "1. Balance\n2. Packages", session=True)
    h.emu("m1").set_ussd_reply("1", "Your balance is 5,000 Rials")
    await h.start()
    menu = await operations.ussd(h.config, "m1", "*100#", "dial", timeout=10)
    assert menu.response == "1. Balance\n2. Packages" and menu.session_open
    answer = await operations.ussd(h.config, "m1", "1", "reply", timeout=10)
    assert answer.response == "Your balance is 5,000 Rials" and not answer.session_open
    with pytest.raises(Exception, match="not supported"):
        await operations.ussd(h.config, "m1", "*999#", "dial", timeout=10)


async def test_ussd_waits_for_a_network_that_takes_its_time(harness: Harness) -> None:
    # a real network answers USSD in seconds: the command waits while the daemon is dialling
    h = harness
    h.emu("m1").set_ussd_reply("*140*11#", "Your balance is 12,000 Rials")
    h.emu("m1").set_ussd_delay(1.0)
    await h.start()
    answer = await operations.ussd(h.config, "m1", "*140*11#", "dial", timeout=10)
    assert answer.status == "done" and answer.response == "Your balance is 12,000 Rials"


async def test_gateway_modems_shows_every_sim(harness: Harness) -> None:
    await harness.start()
    await harness.store.enqueue("+989121234567", "hello")
    await _settle(harness)
    await harness.daemon.monitor.publish()  # type: ignore[union-attr]
    rows = {r["modem_id"]: r for r in await operations.sim_statuses(harness.config)}
    assert set(rows) == {"m1", "m2"}
    for r in rows.values():
        assert r["state"] == "ready" and r["signal"] == 20 and r["operator"] == "Emu Mobile" and not r["stale"]
        assert r["storage_total"] == 50
    assert sum(r["sent_today"] for r in rows.values()) == 1


async def test_lost_registration_quarantines_the_sim_until_it_is_back(harness: Harness) -> None:
    h = harness
    await h.start()
    h.emu("m1").set_registration(2)  # searching: +CREG: 2
    await eventually(lambda: "m1" not in h.daemon.bank.ready())  # type: ignore[union-attr]
    await h.store.enqueue("+989121234567", "meanwhile")
    await h.reply_to("+989121234567", modem="m2")
    h.emu("m1").set_registration(1)
    await eventually(lambda: "m1" in h.daemon.bank.ready())  # type: ignore[union-attr]


async def test_unsolicited_noise_from_the_modem_changes_nothing(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").write_raw(b"\r\n^RSSI: 14\r\n\r\n^BOOT:12345678,0,0,0,72\r\n")
    harness.emu("m1").inject_sms("+989121234567", "1 48213")
    await harness.reply_to("+989121234567")


async def test_full_sim_storage_never_blocks_delivery(harness: Harness) -> None:
    h = harness
    for e in h.emulators:
        e.set_capacity(2)
    await h.start()
    senders = [f"+98912300{i:04d}" for i in range(6)]
    for s in senders:
        h.emu("m1").inject_sms(s, "1 48213")  # the network holds what does not fit
    for s in senders:
        await h.reply_to(s, timeout=15)
    assert h.emu("m1").network_queue == 0 and h.emu("m1").stored() == {}


async def test_a_report_for_part_one_while_part_two_is_on_air_is_not_lost(harness: Harness) -> None:
    for e in harness.emulators:
        e.set_send_latency(0.4)
        e.delivery_reports([0x00], delay=0.05)  # the SMSC reports part 1 before part 2 is sent
    await harness.start()
    await harness.store.enqueue("+989121234568", "long " * 60)  # two parts
    await _settle(harness, ("delivered",))


async def test_a_ussd_request_the_cli_gave_up_on_is_never_dialled(harness: Harness) -> None:
    h = harness
    h.emu("m1").set_ussd_delay(1.0)
    h.emu("m1").set_ussd_reply("*140#", "Your balance is 5,000 Rials")
    h.emu("m1").set_ussd_reply("*555*1*2#", "Package bought")
    await h.start()
    first = await h.store.add_ussd("m1", "*140#")
    second = await h.store.add_ussd("m1", "*555*1*2#")  # e.g. buys a package
    h.daemon.ussd.wake()  # type: ignore[union-attr]
    await eventually(lambda: any("*140#" in c for c in h.emu("m1").commands))
    await h.store.cancel_ussd(second)  # its CLI stopped waiting while the first one ran
    await eventually(lambda: _done(h, first))
    await eventually(lambda: len(h.daemon.ussd.tasks) == 0)  # type: ignore[union-attr]  # the second one's turn came
    assert not any("*555*1*2#" in c for c in h.emu("m1").commands)
    assert (await h.store.ussd_request(second)).status == "failed"  # type: ignore[union-attr]


async def _done(h: Harness, request_id: int) -> bool:
    row = await h.store.ussd_request(request_id)
    return row is not None and row.status == "done"
