"""The quota book rebuilt from a real SQLite file after a restart, with the wall clock stepped
back meanwhile: the SIM's last minute still counts, for a minute and not for an hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.outbound.choice import Capacity, assign
from gateway.outbound.quotas import QuotaBook
from gateway.runtime import SteppedClock
from gateway.store import OnAir, Store
from sim_bank.types import ModemConfig

TEHRAN = ZoneInfo("Asia/Tehran")
MODEM = ModemConfig("m1", "/dev/null", per_minute=2, per_day=5, reply_reserve=0.0)


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
    book = QuotaBook([MODEM], TEHRAN, clock)
    await book.load(store)
    assert 59 < book.wait("m1", "reply", 1) <= 60
    clock.advance(61)
    assert book.wait("m1", "reply", 1) == 0


async def test_a_days_usage_survives_a_restart(store: Store) -> None:
    now = datetime.now(UTC)
    clock = SteppedClock(start=now)
    day = now.astimezone(TEHRAN).date().isoformat()
    await _sent(store, now - timedelta(minutes=5), day, 5)  # the whole day's quota, five minutes ago
    book = QuotaBook([MODEM], TEHRAN, clock)
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
    book = QuotaBook([MODEM], TEHRAN, clock)
    await book.load(store)
    clock.advance(10 * 60)
    await _sent(store, clock.wall(), book.record("m1", 4), 4)
    clock.step(-3600)  # 23:05 the day before, by the wall clock
    clock.advance(61)
    assert book.day_key("m1") == today
    await _sent(store, clock.wall(), book.record("m1", 1), 1)  # the fifth part: the day is spent
    assert book.left_today("m1", "reply") == 0 and book.wait("m1", "reply", 1) > 3600
    restarted = QuotaBook([MODEM], TEHRAN, clock)  # a restart while the clock is still back
    await restarted.load(store)
    assert restarted.sent_today("m1") == 5 and restarted.left_today("m1", "reply") == 0
    clock.step(3600)  # the clock comes forward again: 00:06, the same calendar day
    assert book.left_today("m1", "reply") == 0 and book.sent_today("m1") == 5
    assert book.wait("m1", "reply", 1) > 60  # until the next local midnight
    assert restarted.left_today("m1", "reply") == 0
    assert await store.usage_on(today) == {"m1": {"reply": 5}} and await store.usage_on(yesterday) == {}
    clock.step(24 * 3600)  # the next day: a fresh quota
    assert book.left_today("m1", "reply") == 5 and book.sent_today("m1") == 0
