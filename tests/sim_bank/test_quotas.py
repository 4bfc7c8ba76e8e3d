"""Operator limits: per rolling minute, per local calendar day, with a reserve for replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sim_bank import quotas
from sim_bank.quotas import QuotaConfig, QuotaState

TEHRAN = ZoneInfo("Asia/Tehran")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def fresh(at: datetime = T0) -> QuotaState:
    return QuotaState(day=quotas.local_day(at, TEHRAN))


def test_reserve_keeps_part_of_the_day_for_replies() -> None:
    cfg = QuotaConfig(per_minute=1000, per_day=10, reply_reserve=0.2)
    state = fresh()
    quotas.record(state, 8, T0, TEHRAN)
    assert not quotas.may_send(cfg, state, "broadcast", 1, T0, TEHRAN)
    assert quotas.may_send(cfg, state, "reply", 2, T0, TEHRAN)
    assert not quotas.may_send(cfg, state, "reply", 3, T0, TEHRAN)


def test_a_multipart_message_counts_as_its_parts() -> None:
    cfg = QuotaConfig(per_minute=5, per_day=100)
    state = fresh()
    quotas.record(state, 3, T0, TEHRAN)
    assert quotas.may_send(cfg, state, "reply", 2, T0, TEHRAN)
    assert not quotas.may_send(cfg, state, "reply", 3, T0, TEHRAN)
    assert quotas.wait_for_minute(cfg, state, 3, T0, TEHRAN) == 60.0
    assert quotas.may_send(cfg, state, "reply", 3, T0 + timedelta(seconds=61), TEHRAN)


def test_a_message_longer_than_the_minute_quota_never_goes() -> None:
    cfg = QuotaConfig(per_minute=2, per_day=100)
    assert not quotas.may_send(cfg, fresh(), "broadcast", 4, T0, TEHRAN)


def test_the_day_ends_at_local_midnight_not_utc() -> None:
    cfg = QuotaConfig(per_minute=1000, per_day=3, reply_reserve=0)
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 23:30 in Tehran
    state = fresh(evening)
    quotas.record(state, 3, evening, TEHRAN)
    assert not quotas.may_send(cfg, state, "broadcast", 1, evening + timedelta(minutes=29), TEHRAN)
    assert quotas.may_send(cfg, state, "broadcast", 1, evening + timedelta(minutes=31), TEHRAN)  # 00:01
    assert quotas.next_day_start(evening, TEHRAN) == datetime(2026, 11, 24, tzinfo=TEHRAN)


@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(1, 4), st.sampled_from(["reply", "broadcast"])), max_size=80)
)
@settings(max_examples=300)
def test_following_may_send_never_exceeds_a_limit(sends: list[tuple[int, int, str]]) -> None:
    cfg = QuotaConfig(per_minute=6, per_day=40, reply_reserve=0.25)
    state = fresh()
    log: list[tuple[datetime, int]] = []
    at = T0
    for gap, parts, lane in sends:
        at += timedelta(seconds=gap)
        if quotas.may_send(cfg, state, lane, parts, at, TEHRAN):
            quotas.record(state, parts, at, TEHRAN)
            log.append((at, parts))
    assert sum(p for _, p in log) <= cfg.per_day
    for t, _ in log:
        assert sum(p for s, p in log if t - timedelta(seconds=60) < s <= t) <= cfg.per_minute
