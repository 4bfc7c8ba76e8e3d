"""Replies first, with real parts (the daemon, python-gsmmodem over ptys, emulated modems,
SQLite in tmp_path): a wall clock stepped back, a broadcast filling every minute, a SIM
that fails every send. Issue 12, items 5, 9 and 10."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from gateway.broadcast.contacts import Contact
from gateway.broadcast.operations import BroadcastRequest, broadcast
from gateway.config import SendConfig
from gateway.runtime import SteppedClock
from gateway.store import AudienceSpec, Store
from sim_bank.emulator import SentMessage
from tests.gateway.harness import Harness, eventually

HOUR = 3600.0
LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def _text(message: SentMessage) -> str:
    """What the handset shows, with Persian digits read as Latin ones."""
    return message.text.translate(LATIN)


def _cmgs(h: Harness, modem: str) -> int:
    """Sends a modem was asked to make (``AT+CMGS`` lines), whatever came of them."""
    return sum(1 for c in h.emu(modem).commands if c.upper().startswith("AT+CMGS"))


def _replies(h: Harness, modem: str) -> list[SentMessage]:
    return [m for m in h.emu(modem).sent if not m.number.startswith("+98912100")]


async def _broadcast(store: Store, count: int) -> None:
    for i in range(count):
        await store.enqueue(f"+98912100{i:04d}", f"notice {i}", lane="broadcast")


async def _queued_reply(h: Harness, phone: str, *, tried: bool = False) -> None:
    """The reply to ``phone`` waits in the outbox (with ``tried``: after a failed attempt,
    its retry scheduled -- a row is queued before its first attempt too)."""
    after = " AND attempts > 0 AND next_attempt_at IS NOT NULL" if tried else ""

    async def queued() -> bool:
        return bool(await h.sql(f"SELECT 1 FROM outbox WHERE phone = '{phone}' AND status = 'queued'{after}"))

    await eventually(queued)


# ---------------------------------------------------------------- item 5: the wall clock stepped back


async def test_a_reply_still_leaves_within_a_minute_after_the_wall_clock_steps_back_an_hour(tmp_path: Path) -> None:
    h = Harness(tmp_path, count=1)
    h.configure(modems={"per_minute": 3})
    clock = SteppedClock()
    try:
        await h.start(clock=clock)  # type: ignore[arg-type]  # the harness hands the daemon any clock it takes
        for i in range(3):  # three customers fill the SIM's minute with replies
            h.emu().inject_sms(f"+98912555000{i}", f"1 4821{i}")
            await h.reply_to(f"+98912555000{i}")
        clock.step(-HOUR)  # NTP corrects the clock an hour back
        h.emu().inject_sms("+989125550009", "1 48219")
        await _queued_reply(h, "+989125550009")  # this minute is full: the fourth reply waits ...
        assert len(h.emu().sent) == 3
        clock.advance(61)  # ... for a minute, not for an hour (the dispatcher's wait ends with it)
        reply = await h.reply_to("+989125550009", timeout=10)
        assert "12-000004" in _text(reply)  # the customer's ticket number, decoded from the PDU
    finally:
        await h.stop()
        h.close()


async def test_a_retry_is_not_held_up_by_the_wall_clock_stepping_back(tmp_path: Path) -> None:
    h = Harness(tmp_path, count=1)
    h.configure(send=SendConfig(retry_base=30.0, retry_max=60.0))
    clock = SteppedClock()
    try:
        h.emu().fail_next_sends(1, code=38)  # network out of order, once
        await h.start(clock=clock)  # type: ignore[arg-type]  # the harness hands the daemon any clock it takes
        h.emu().inject_sms("+989125550001", "1 48213")
        await _queued_reply(h, "+989125550001", tried=True)  # failed once, waiting some 30 s for its retry ...
        clock.step(-HOUR)  # ... when the clock goes back an hour
        clock.advance(40)  # the backoff has passed (the dispatcher's wait ends with it)
        reply = await h.reply_to("+989125550001", timeout=10)  # due by the monotonic clock
        assert "12-000001" in _text(reply)

        async def recorded() -> bool:  # the modem has it; the row says so a moment later
            return await h.sql("SELECT attempts, status FROM outbox WHERE phone = '+989125550001'") == [(2, "sent")]

        await eventually(recorded)
    finally:
        await h.stop()
        h.close()


async def test_a_staged_update_goes_again_on_time_after_the_wall_clock_steps_back(harness: Harness) -> None:
    h = harness
    clock = SteppedClock()
    await h.start(clock=clock)  # type: ignore[arg-type]  # the harness hands the daemon any clock it takes
    people = [Contact(f"+98912500000{i}", language="fa") for i in range(3)]
    await h.store.upsert_contacts(people, "north")
    request = BroadcastRequest(
        "update", {"area": "x", "eta": "21:00"}, AudienceSpec(groups=("north",)), every=timedelta(minutes=30), times=2
    )
    _, campaign_id, _ = await broadcast(h.config, request, dry_run=False)
    assert campaign_id is not None
    await eventually(lambda: sum(len(e.sent) for e in h.emulators) == 3)  # the first run
    clock.step(-HOUR)  # the clock goes back an hour ...
    clock.advance(31 * 60)  # ... and half an hour passes: the second run is due

    async def second_run() -> bool:
        campaign = await h.store.campaign(campaign_id)
        return campaign is not None and campaign.runs_done == 2

    await eventually(second_run, timeout=10)
    await eventually(lambda: sum(len(e.sent) for e in h.emulators) == 6, timeout=10)
    got: dict[str, list[str]] = {}
    for m in (m for e in h.emulators for m in e.sent):
        got.setdefault(m.number, []).append(m.text)
    assert all(len(texts) == 2 and texts[0] == texts[1] for texts in got.values()) and len(got) == 3


# ---------------------------------------------------------------- item 9: replies behind broadcasts


async def test_a_reply_leaves_at_once_while_a_broadcast_uses_every_minute(tmp_path: Path) -> None:
    """Broadcast parts fill each SIM's share of the minute; a customer's reply still leaves at
    once, on the SIM they texted, from the reserve. Judged by the modems' own send times (any
    rolling minute), not by counts that assume every send falls in one minute."""
    h = Harness(tmp_path, count=2)
    h.configure(modems={"per_minute": 5})  # reply_reserve 0.2: broadcasts may use 4 of each minute
    try:
        await h.start()
        await _broadcast(h.store, 40)
        await eventually(lambda: len(_broadcast_times(h, "m1")) >= 4)  # m1's broadcast share is used
        texted = time.time()
        h.emu("m1").inject_sms("+989125550001", "1 48213")  # a customer, while every minute is "full"
        reply = await h.reply_to("+989125550001", modem="m1", timeout=10)  # the SIM they texted, at once
        assert "12-000001" in _text(reply)
        [replied] = [p.at for p in h.emu("m1").sent_pdus if p.number == "+989125550001"]
        assert replied - texted < 10  # it did not wait for the minute to free
        before = [t for t in _broadcast_times(h, "m1") if t <= replied]
        assert len(before) >= 4 and replied - before[-4] < 60  # it left while the broadcast share was full
        for modem in ("m1", "m2"):
            every = [p.at for p in h.emu(modem).sent_pdus]
            assert _busiest_minute(every) <= 5  # the operator's limit, replies included
            assert _busiest_minute(_broadcast_times(h, modem)) <= 4  # the broadcast never took the reserve
    finally:
        await h.stop()
        h.close()


def _broadcast_times(h: Harness, modem: str) -> list[float]:
    """When each broadcast part left ``modem`` (the emulated modem's own clock)."""
    return [p.at for p in h.emu(modem).sent_pdus if p.number.startswith("+98912100")]


def _busiest_minute(times: list[float]) -> int:
    """The most parts in any rolling minute."""
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + 60.0) for t in times), default=0)


# ---------------------------------------------------------------- item 10: a failing SIM


async def test_a_reply_that_fails_on_a_sim_goes_to_another_at_once_and_the_failing_sim_gets_no_more(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, count=4)
    h.configure(send=SendConfig(retry_base=120.0, retry_max=600.0))  # a backoff no test would wait out
    clock = SteppedClock()
    try:
        h.emu("m4").fail_sends_at_rate(1.0, code=38)  # network out of order, on every send
        await h.start(clock=clock)  # type: ignore[arg-type]  # the harness hands the daemon any clock it takes
        h.emu("m4").inject_sms("+989125550001", "1 48213")
        first = await h.reply_to("+989125550001", timeout=10)  # on another SIM, not after the backoff
        assert "12-000001" in _text(first)
        assert _cmgs(h, "m4") == 1  # it was tried on m4 (the SIM the customer texted) and failed
        for i in range(2, 5):  # more customers text the failing SIM
            h.emu("m4").inject_sms(f"+98912555000{i}", f"1 4821{i}")
            await h.reply_to(f"+98912555000{i}", timeout=10)
        assert _cmgs(h, "m4") == 1  # a SIM in a failure streak got no more replies
        assert sum(len(_replies(h, m)) for m in ("m1", "m2", "m3")) == 4
        clock.advance(61)  # a minute later, one reply probes it again; failing, it moves on at once
        h.emu("m4").inject_sms("+989125550005", "1 48215")
        assert "12-000005" in _text(await h.reply_to("+989125550005", timeout=10))
        assert _cmgs(h, "m4") == 2 and not _replies(h, "m4")
    finally:
        await h.stop()
        h.close()
