"""Operator limits: per rolling minute (monotonic clock), per local calendar day (wall clock),
with a reserve of both for replies -- the arithmetic, and the quota book rebuilt from a real
SQLite file after a restart, with the wall clock stepped back meanwhile: the SIM's last minute
still counts, for a minute and not for an hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.outbound import quotas
from gateway.outbound.choice import Capacity, assign
from gateway.outbound.quotas import QuotaBook, QuotaConfig, QuotaState
from gateway.runtime import SteppedClock
from gateway.store import OnAir, Store

TEHRAN = ZoneInfo("Asia/Tehran")
LIMITS = {"m1": QuotaConfig(per_minute=2, per_day=5, reply_reserve=0.0)}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "gw.db")
    yield s
    await s.close()


async def _sent(store: Store, at: datetime, day: str, count: int) -> None:
    for i in range(count):
        row_id = await store.enqueue(f"+98912123456{i}", "x", lane="reply", now=at)
        await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments, now=at)
        await store.mark_sent(row_id, OnAir("m1", day, "reply", 1, (i,), 1), 1, now=at)


async def test_parts_stamped_after_a_clock_step_back_count_for_a_minute_not_an_hour(store: Store) -> None:
    before = datetime.now(UTC)
    day = before.astimezone(TEHRAN).date().isoformat()
    await _sent(store, before, day, 2)  # the SIM's minute is full ...
    clock = SteppedClock()
    clock.step(-3600)  # ... and the daemon restarts after the clock went back an hour
    book = QuotaBook(LIMITS, TEHRAN, clock)
    await book.load(store)
    assert 59 < book.wait("m1", "reply", 1) <= 60
    clock.advance(61)
    assert book.wait("m1", "reply", 1) == 0


async def test_a_days_usage_survives_a_restart(store: Store) -> None:
    now = datetime.now(UTC)
    clock = SteppedClock(start=now)
    day = now.astimezone(TEHRAN).date().isoformat()
    await _sent(store, now - timedelta(minutes=5), day, 5)  # the whole day's quota, five minutes ago
    book = QuotaBook(LIMITS, TEHRAN, clock)
    await book.load(store)
    assert book.sent_today("m1") == 5 and book.left_today("m1", "reply") == 0
    assert book.wait("m1", "reply", 1) > 60  # until local midnight, not the next minute


async def test_a_clock_stepped_back_over_midnight_neither_reopens_the_day_nor_files_usage_under_yesterday(
    store: Store,
) -> None:
    """The day's quota spent at 00:05 local; the clock steps back an hour and forward again:
    the SIM has no quota left that day, and every usage row says that day -- so a restart,
    even one while the clock is still back, counts it all."""
    after_midnight = datetime(2026, 11, 23, 20, 35, tzinfo=UTC)  # 00:05 in Tehran
    today, yesterday = "2026-11-24", "2026-11-23"
    clock = SteppedClock(start=after_midnight - timedelta(minutes=10))  # 23:55: the daemon runs through midnight
    book = QuotaBook(LIMITS, TEHRAN, clock)
    await book.load(store)
    clock.advance(10 * 60)
    await _sent(store, clock.wall(), book.record("m1", 4), 4)
    clock.step(-3600)  # 23:05 the day before, by the wall clock
    clock.advance(61)
    assert book.day_key("m1") == today
    await _sent(store, clock.wall(), book.record("m1", 1), 1)  # the fifth part: the day is spent
    assert book.left_today("m1", "reply") == 0 and book.wait("m1", "reply", 1) > 3600
    restarted = QuotaBook(LIMITS, TEHRAN, clock)  # a restart while the clock is still back
    await restarted.load(store)
    assert restarted.sent_today("m1") == 5 and restarted.left_today("m1", "reply") == 0
    clock.step(3600)  # the clock comes forward again: 00:06, the same calendar day
    assert book.left_today("m1", "reply") == 0 and book.sent_today("m1") == 5
    assert book.wait("m1", "reply", 1) > 60  # until the next local midnight
    assert restarted.left_today("m1", "reply") == 0
    assert await store.usage_on(today) == {"m1": {"reply": 5}} and await store.usage_on(yesterday) == {}
    clock.step(24 * 3600)  # the next day: a fresh quota
    assert book.left_today("m1", "reply") == 5 and book.sent_today("m1") == 0


# ------------------------------------------------------------------ the arithmetic

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DAY = quotas.local_day(T0, TEHRAN)
M0 = 1000.0  # monotonic seconds at T0


def fresh(day: date = DAY) -> QuotaState:
    return QuotaState(day=day)


def may_send(cfg: QuotaConfig, state: QuotaState, lane: str, parts: int, day: date, mono: float) -> bool:
    """Whether ``parts`` parts in ``lane`` fit the SIM's limits now (as the quota book asks)."""
    return (
        quotas.day_left(cfg, state, lane, day) >= parts and quotas.wait_for_minute(cfg, state, lane, parts, mono) == 0
    )


def may(cfg: QuotaConfig, state: QuotaState, lane: str, parts: int, mono: float = M0, day: date = DAY) -> bool:
    return may_send(cfg, state, lane, parts, day, mono)


def test_reserve_keeps_part_of_the_day_for_replies() -> None:
    cfg = QuotaConfig(per_minute=1000, per_day=10, reply_reserve=0.2)
    state = fresh()
    quotas.record(state, 8, DAY, M0)
    assert not may(cfg, state, "broadcast", 1)
    assert may(cfg, state, "reply", 2)
    assert not may(cfg, state, "reply", 3)


def test_reserve_keeps_the_last_share_of_every_minute_for_replies() -> None:
    cfg = QuotaConfig(per_minute=10, per_day=500, reply_reserve=0.2)
    assert cfg.minute_reserve == 2
    state = fresh()
    quotas.record(state, 8, DAY, M0)
    assert not may(cfg, state, "broadcast", 1) and not may(cfg, state, "notification", 1)
    assert may(cfg, state, "reply", 2) and not may(cfg, state, "reply", 3)
    assert quotas.wait_for_minute(cfg, state, "broadcast", 1, M0 + 10) == 50.0
    assert may(cfg, state, "broadcast", 8, M0 + 60)


def test_the_minute_reserve_is_at_least_one_part_and_never_the_whole_minute() -> None:
    assert QuotaConfig(per_minute=3, reply_reserve=0.2).minute_reserve == 1
    assert QuotaConfig(per_minute=2, reply_reserve=0.9).minute_reserve == 1
    assert QuotaConfig(per_minute=1, reply_reserve=0.2).minute_reserve == 0  # a broadcast must still go
    assert QuotaConfig(per_minute=10, reply_reserve=0.0).minute_reserve == 0  # the operator asked for none
    assert QuotaConfig(per_minute=30, reply_reserve=0.1).minute_reserve == 3  # not 4 (float arithmetic)


def test_a_broadcast_longer_than_its_share_of_a_minute_takes_a_whole_empty_minute() -> None:
    cfg = QuotaConfig(per_minute=10, per_day=500, reply_reserve=0.2)
    state = fresh()
    assert may(cfg, state, "broadcast", 9)  # nothing else in this minute
    quotas.record(state, 1, DAY, M0)
    assert not may(cfg, state, "broadcast", 9, M0 + 30)
    assert quotas.wait_for_minute(cfg, state, "broadcast", 9, M0 + 30) == 30.0


def test_a_multipart_message_counts_as_its_parts() -> None:
    cfg = QuotaConfig(per_minute=5, per_day=100)
    state = fresh()
    quotas.record(state, 3, DAY, M0)
    assert may(cfg, state, "reply", 2)
    assert not may(cfg, state, "reply", 3)
    assert quotas.wait_for_minute(cfg, state, "reply", 3, M0) == 60.0
    assert may(cfg, state, "reply", 3, M0 + 61)


def test_a_message_longer_than_the_minute_quota_never_goes() -> None:
    cfg = QuotaConfig(per_minute=2, per_day=100)
    assert not may(cfg, fresh(), "broadcast", 4)


def test_the_day_ends_at_local_midnight_not_utc() -> None:
    cfg = QuotaConfig(per_minute=1000, per_day=3, reply_reserve=0)
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 23:30 in Tehran
    day = quotas.local_day(evening, TEHRAN)
    state = fresh(day)
    quotas.record(state, 3, day, M0)
    later = quotas.local_day(evening + timedelta(minutes=29), TEHRAN)
    assert not may(cfg, state, "broadcast", 1, M0 + 29 * 60, later)
    next_day = quotas.local_day(evening + timedelta(minutes=31), TEHRAN)  # 00:01
    assert may(cfg, state, "broadcast", 1, M0 + 31 * 60, next_day)
    assert quotas.next_day_start(day, TEHRAN) == datetime(2026, 11, 24, tzinfo=TEHRAN)


def test_a_wall_clock_stepped_back_neither_stops_the_minute_nor_reopens_the_day() -> None:
    cfg = QuotaConfig(per_minute=10, per_day=5, reply_reserve=0)
    after_midnight = datetime(2026, 11, 23, 20, 35, tzinfo=UTC)  # 00:05 in Tehran
    day = quotas.local_day(after_midnight, TEHRAN)
    state = fresh(day)
    quotas.record(state, 5, day, M0)  # the day is spent
    stepped_back = quotas.local_day(after_midnight - timedelta(hours=1), TEHRAN)  # 23:05 the day before
    assert not may(cfg, state, "reply", 1, M0 + 61, stepped_back)  # still spent: the count survives
    assert may(cfg, state, "reply", 1, M0 + 61, day + timedelta(days=1))  # the next midnight resets it
    minute, roomy = fresh(), QuotaConfig(per_minute=10, per_day=500)
    quotas.record(minute, 10, DAY, M0)
    assert not may(roomy, minute, "reply", 1, M0 + 59.5)
    assert may(roomy, minute, "reply", 1, M0 + 60.5)  # whatever the wall clock says: a minute passed


def test_a_clock_stepped_back_over_midnight_and_forward_again_does_not_reopen_the_day() -> None:
    """The regulator caps a SIM at ``per_day`` a calendar day: spent at 00:05, the day stays
    spent when the clock goes back to 23:05 and when it comes forward to 00:05 again."""
    cfg = QuotaConfig(per_minute=10, per_day=5, reply_reserve=0)
    after_midnight = datetime(2026, 11, 23, 20, 35, tzinfo=UTC)  # 00:05 in Tehran
    day = quotas.local_day(after_midnight, TEHRAN)
    state = fresh(day - timedelta(days=1))  # the daemon ran through midnight
    assert quotas.record(state, 4, day, M0) == day
    stepped_back = quotas.local_day(after_midnight - timedelta(hours=1), TEHRAN)  # 23:05 the day before
    assert stepped_back == day - timedelta(days=1)
    assert quotas.quota_day(state, stepped_back) == day
    assert may(cfg, state, "reply", 1, M0 + 61, stepped_back)
    assert quotas.record(state, 1, stepped_back, M0 + 61) == day  # sent at "23:05": counts against the day
    assert not may(cfg, state, "reply", 1, M0 + 122, stepped_back)
    assert not may(cfg, state, "reply", 1, M0 + 3600, day)  # forward again: still spent, not a fresh day
    assert state.day == day and quotas.used_on(state, day) == 5 and quotas.day_left(cfg, state, "reply", day) == 0
    assert may(cfg, state, "reply", 1, M0 + 3600, day + timedelta(days=1))  # the next midnight resets it
    assert quotas.used_on(state, day + timedelta(days=1)) == 0


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 4), st.sampled_from(["reply", "notification", "broadcast"])),
        max_size=80,
    )
)
@settings(max_examples=300)
def test_following_may_send_never_exceeds_a_limit(sends: list[tuple[int, int, str]]) -> None:
    cfg = QuotaConfig(per_minute=6, per_day=40, reply_reserve=0.25)
    state = fresh()
    log: list[tuple[float, int, str]] = []
    mono = M0
    for gap, parts, lane in sends:
        mono += gap
        day = quotas.local_day(T0 + timedelta(seconds=mono - M0), TEHRAN)
        if may_send(cfg, state, lane, parts, day, mono):
            quotas.record(state, parts, day, mono)
            log.append((mono, parts, lane))
    assert sum(p for _, p, _ in log) <= cfg.per_day
    for i, (t, parts, lane) in enumerate(log):
        before = sum(p for s, p, _ in log[:i] if t - 60 < s)  # in the window when this one was let through
        assert before + parts <= cfg.per_minute
        if lane != "reply" and before:  # other lanes leave the reply reserve of the minute free
            assert before + parts <= cfg.per_minute - cfg.minute_reserve
