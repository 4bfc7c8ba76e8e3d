"""Operator limits: per rolling minute (monotonic clock), per local calendar day (wall clock),
with a reserve of both for replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sim_bank import quotas
from sim_bank.quotas import QuotaConfig, QuotaState

TEHRAN = ZoneInfo("Asia/Tehran")
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
