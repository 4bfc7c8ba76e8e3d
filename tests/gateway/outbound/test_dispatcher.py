"""Which modem sends what, and what happens after a failure (pure decisions)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import SendConfig
from gateway.outbound.choice import Capacity, assign
from gateway.outbound.dispatcher import LOOKAHEAD, WAITING
from gateway.outbound.verdict import error_code, judge
from gateway.store import OutboxRow, Store
from sim_bank.exceptions import EncodeError, ModemUnavailable, SendFailed
from tests.gateway.harness import Harness


class Row(OutboxRow):
    def _replace_created(self, when: datetime) -> OutboxRow:
        return dataclasses.replace(self, created_at=when.isoformat())


def row(
    id: int,
    hint: str | None = None,
    lane: str = "reply",
    attempts: int = 1,
    parts_sent: int = 0,
    modem: str | None = None,
) -> Row:
    created = datetime.now(UTC).isoformat()
    return Row(
        id,
        "+989121234567",
        "t",
        lane,
        0,
        "queued",
        hint,
        modem,
        2,
        parts_sent,
        None,
        attempts,
        None,
        None,
        None,
        None,
        created,
        None,
        None,
    )


def test_reply_goes_to_the_sim_the_customer_texted() -> None:
    assert assign([row(1, "m2")], Capacity(["m1", "m2"], {"m1", "m2"})).assignments == {1: "m2"}


def test_reply_waits_for_its_busy_sim_while_others_take_other_work() -> None:
    plan = assign([row(1, "m2"), row(2), row(3)], Capacity(["m1"], {"m1", "m2"}))
    assert plan.assignments == {2: "m1"}


def test_only_the_first_reply_in_line_waits_for_its_busy_sim() -> None:
    plan = assign([row(1, "m2"), row(2, "m2"), row(3, "m2")], Capacity(["m1", "m3"], {"m1", "m2", "m3"}))
    assert plan.assignments == {2: "m1", 3: "m3"}  # one send away from m2; the others do not queue behind it


def test_reply_moves_when_its_sim_is_down() -> None:
    assert assign([row(1, "m2")], Capacity(["m1"], {"m1"})).assignments == {1: "m1"}


def test_half_sent_message_stays_on_its_sim() -> None:
    assert assign([row(1, "m1", parts_sent=1, modem="m3")], Capacity(["m1", "m3"], {"m1", "m3"})).assignments == {
        1: "m3"
    }


def test_every_free_modem_gets_work() -> None:
    assert assign([row(i) for i in range(1, 6)], Capacity(["m1", "m2", "m3"], {"m1", "m2", "m3"})).assignments == {
        1: "m1",
        2: "m2",
        3: "m3",
    }


SEND = SendConfig(max_attempts=3, retry_base=1.0, retry_max=10.0)


def test_verdicts() -> None:
    assert judge(row(1), ModemUnavailable("m1", "gone"), SEND).status == "unclaimed"
    assert judge(row(1), EncodeError("bad number"), SEND).status == "failed"
    assert judge(row(1), SendFailed("m1", "x", cms_code=1), SEND).status == "failed"  # unassigned number
    temporary = judge(row(1), SendFailed("m1", "x", cms_code=42, on_air=1), SEND)
    assert temporary.status == "retry" and temporary.parts_sent == 1 and 0 < (temporary.retry_in or 0) <= 10
    assert judge(row(1, attempts=3), SendFailed("m1", "x", cms_code=42), SEND).status == "failed"


def test_unknown_outcome_retries_a_reply_but_not_a_broadcast() -> None:
    unknown = SendFailed("m1", "no answer", unknown=True)
    assert judge(row(1, lane="reply"), unknown, SEND).status == "retry"
    assert judge(row(1, lane="broadcast"), unknown, SEND).status == "unknown"


def test_reply_waits_for_its_busy_sim_only_for_a_while() -> None:

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    fresh = row(1, "m2")._replace_created(now - timedelta(seconds=5))
    stale = row(2, "m2")._replace_created(now - timedelta(seconds=60))
    plan = assign([fresh, stale], Capacity(["m1"], {"m1", "m2"}, now=now, affinity=30.0))
    assert plan.assignments == {2: "m1"}  # the old one moves to the idle SIM; the fresh one waits for m2
    assert (
        plan.wake_in is not None and 20 < plan.wake_in <= 25
    )  # when the fresh one's patience runs out  # the old one moves to the idle SIM; the fresh one waits for m2


def test_sim_without_quota_left_is_passed_over() -> None:
    cap = Capacity(["m1", "m2"], {"m1", "m2"}, wait=lambda m, _r: 30.0 if m == "m1" else 0.0)
    assert assign([row(1, lane="broadcast")], cap).assignments == {1: "m2"}
    blocked = assign([row(1, lane="broadcast")], Capacity(["m1"], {"m1"}, wait=lambda _m, _r: 30.0))
    assert blocked.assignments == {} and blocked.wake_in == 30.0


def test_reply_does_not_wait_for_its_sim_when_that_sim_has_no_quota() -> None:
    cap = Capacity(["m1"], {"m1", "m2"}, wait=lambda m, _r: 3600.0 if m == "m2" else 0.0)
    assert assign([row(1, "m2")], cap).assignments == {1: "m1"}


def test_on_net_sim_is_preferred() -> None:
    cap = Capacity(
        ["m1", "m2"],
        {"m1", "m2"},
        sim_operator={"m1": "Irancell", "m2": "MCI"},
        operator_of=lambda phone: "MCI" if phone.startswith("+98912") else None,
    )
    assert assign([row(1, lane="broadcast")], cap).assignments == {1: "m2"}


def test_sim_with_the_fewest_waiting_rows_takes_new_work() -> None:
    cap = Capacity(["m1", "m2"], {"m1", "m2"}, waiting={"m1": 4, "m2": 1})
    assert assign([row(1, lane="broadcast")], cap).assignments == {1: "m2"}


def test_a_retry_avoids_the_sim_that_just_failed_it() -> None:
    retried = row(1, lane="broadcast", attempts=1, modem="m1")
    assert assign([retried], Capacity(["m1", "m2"], {"m1", "m2"})).assignments == {1: "m2"}
    assert assign([retried], Capacity(["m1"], {"m1"})).assignments == {1: "m1"}  # unless it is the only one


def test_half_sent_message_waits_for_its_sims_minute_rather_than_starting_over() -> None:
    half = row(1, lane="notification", parts_sent=1, modem="m1")
    minute_full = Capacity(["m1", "m2"], {"m1", "m2"}, wait=lambda m, _r: 20.0 if m == "m1" else 0.0)
    plan = assign([half, row(2, lane="broadcast")], minute_full)
    assert plan.assignments == {2: "m2"} and plan.wake_in == 20.0  # m1 is held for it
    day_spent = Capacity(["m1", "m2"], {"m1", "m2"}, wait=lambda m, _r: 9000.0 if m == "m1" else 0.0)
    assert assign([half], day_spent).assignments == {1: "m2"}  # no quota today: start again elsewhere


def test_a_message_longer_than_any_minute_limit_is_reported_not_sent() -> None:
    plan = assign([row(1)], Capacity(["m1"], {"m1"}, max_parts=1))
    assert plan.assignments == {} and "more than any SIM may send in one minute" in plan.impossible[1]


def test_a_long_reply_does_not_starve_behind_one_part_broadcasts() -> None:
    """Two SIMs at 10 parts a minute, one send each every 3 s, a backlog of one-part
    broadcasts; a two-part reply queued a minute in must go within a minute or so."""
    from zoneinfo import ZoneInfo

    from gateway.outbound import quotas

    tz = ZoneInfo("Asia/Tehran")
    day = quotas.local_day(datetime(2026, 1, 1, 8, tzinfo=UTC), tz)
    cfg = quotas.QuotaConfig(per_minute=10, per_day=100_000, reply_reserve=0.0)
    states = {m: quotas.QuotaState(day=day) for m in ("m1", "m2")}
    rows = [dataclasses.replace(row(i, lane="broadcast"), parts=1, attempts=0) for i in range(2, 600)]
    reply = dataclasses.replace(row(1, lane="reply"), parts=2, attempts=0)
    sent_at = None
    for step in range(0, 600, 3):
        if step == 60:
            rows.insert(0, reply)

        def wait(m: str, r: OutboxRow, mono: float = float(step)) -> float:
            if quotas.day_left(cfg, states[m], r.lane, day) < r.parts:
                return 86_400.0
            return quotas.wait_for_minute(cfg, states[m], r.lane, r.parts, mono)  # as the quota book answers

        for rid, m in assign(rows[:200], Capacity(["m1", "m2"], {"m1", "m2"}, wait=wait)).assignments.items():
            r = next(x for x in rows if x.id == rid)
            quotas.record(states[m], r.parts, day, float(step))
            rows.remove(r)
            if rid == 1:
                sent_at = step
    assert sent_at is not None and sent_at <= 130


def test_a_failed_row_waits_for_its_retry() -> None:
    retried = row(1, lane="broadcast", attempts=1, modem="m1")
    plan = assign([retried], Capacity(["m1", "m2"], {"m1", "m2"}, retry_in={1: 5.0}))
    assert plan.assignments == {} and plan.wake_in == 5.0


def test_a_failed_reply_goes_to_another_sim_at_once() -> None:
    failed = row(1, "m1", attempts=1, modem="m1")
    assert assign([failed], Capacity(["m1", "m2"], {"m1", "m2"}, retry_in={1: 5.0})).assignments == {1: "m2"}
    alone = assign([failed], Capacity(["m1"], {"m1"}, retry_in={1: 5.0}))  # only the SIM that failed it
    assert alone.assignments == {} and alone.wake_in == 5.0
    everywhere = Capacity(["m1", "m2"], {"m1", "m2"}, retry_in={1: 5.0}, failing=frozenset({"m1", "m2"}))
    assert assign([failed], everywhere).assignments == {}  # every SIM failing: it waits out its backoff


def test_a_sim_in_a_failure_streak_gets_no_reply_while_a_healthy_one_has_quota() -> None:
    to_failing = row(1, "m1", attempts=0)
    cap = Capacity(["m1", "m3"], {"m1", "m2", "m3"}, failing=frozenset({"m1", "m3"}))
    assert assign([to_failing], cap).assignments == {}  # m2 is busy, but healthy: the reply waits for it
    out_of_quota = dataclasses.replace(cap, wait=lambda m, _r: 30.0 if m == "m2" else 0.0)
    assert assign([to_failing], out_of_quota).assignments == {1: "m1"}  # better a failing SIM than none
    broadcast = row(2, lane="broadcast", attempts=0)
    assert assign([broadcast], cap).assignments == {2: "m1"}  # other lanes still probe it


async def test_a_due_row_leaves_at_once_behind_hundreds_waiting_out_a_retry_backoff(harness: Harness) -> None:
    """A CRM backlog of notifications failed with +CMS ERROR 38 and waits out its backoff;
    a notification queued after them is due now and goes at once, not after the backlog.
    Real daemon, real SQLite, emulated modems."""
    backlog = max(LOOKAHEAD, WAITING) + 50
    async with await Store.open(harness.database) as store:
        later = datetime.now(UTC) + timedelta(minutes=10)
        for i in range(backlog):
            row_id = await store.enqueue(f"+98912300{i:04d}", f"status update {i}")
            await store.mark_retry(row_id, "m1: network out of order (+CMS ERROR: 38)", later, 0, code="38")
        await store.enqueue("+989124440001", "your request 12-000345 is resolved")
    harness.configure(send=SendConfig(retry_base=600.0, retry_max=600.0))
    await harness.start()
    sent = await harness.reply_to("+989124440001", timeout=10)
    assert "12-000345" in sent.text
    assert sum(len(e.sent) for e in harness.emulators) == 1  # the backlog still waits out its backoff
    waiting = await harness.sql("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND next_attempt_at IS NOT NULL")
    assert waiting == [(backlog,)]


async def test_claim_sees_every_due_row_and_a_bounded_number_waiting_for_a_retry(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "gw.db") as store:
        later = datetime.now(UTC) + timedelta(minutes=10)
        for i in range(30):
            await store.mark_retry(await store.enqueue(f"+98912300{i:04d}", "x"), "busy", later, 0, code="none")
        due = [await store.enqueue(f"+98912400{i:04d}", "y") for i in range(3)]
        seen: list[list[int]] = []

        def look(rows: list[OutboxRow]) -> dict[int, str]:
            seen.append([r.id for r in rows])
            return {}

        await store.claim(look, lookahead=10)  # due rows only
        await store.claim(look, lookahead=10, waiting=5)  # and the five waiting rows due soonest, in queue order
        assert seen == [due, [1, 2, 3, 4, 5, *due]]


def test_stats_count_send_errors_by_their_cms_or_cme_code() -> None:
    assert error_code("m1: network out of order (+CMS ERROR: 38)") == "38"
    assert error_code("+CME ERROR: 10") == "10"
    assert error_code("m1: no answer in 60 s") == "none"  # a timeout, a modem gone


async def test_a_reply_is_stamped_sent_by_the_daemons_clock(harness: Harness) -> None:
    # the daemon's clock is the one every record follows (here a day ahead of the machine's)
    harness.clock.step(86400)
    await harness.start()
    harness.emu("m1").inject_sms("+989121234567", "1 48213")
    await harness.reply_to("+989121234567")
    query = "SELECT sent_at FROM outbox WHERE status IN ('sent', 'delivered')"
    rows: list[tuple[object, ...]] = []
    for _ in range(250):  # the modem has it: the row says so a moment later
        if rows := await harness.sql(query):
            break
        await asyncio.sleep(0.02)
    [(sent_at,)] = rows
    shown = datetime.fromisoformat(str(sent_at))
    assert abs((shown - harness.clock.wall()).total_seconds()) < 60
    assert shown - datetime.now(UTC) > timedelta(hours=23)
