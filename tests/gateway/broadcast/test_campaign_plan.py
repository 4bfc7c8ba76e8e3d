"""Broadcast estimates on plain data: quotas by day, send windows, rate caps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.broadcast.estimate import SimCapacity, estimate
from gateway.config.window import parse_window

TEHRAN = ZoneInfo("Asia/Tehran")
EVENING = datetime(2026, 11, 23, 21, 0, tzinfo=TEHRAN)


def sims(*left: int, per_day: int = 400, per_minute: int = 10) -> list[SimCapacity]:
    return [SimCapacity(f"m{i}", per_minute, n, per_day) for i, n in enumerate(left, 1)]


def test_a_small_campaign_finishes_today_at_the_sims_per_minute_pace() -> None:
    est = estimate(600, 600, sims(400, 400), EVENING)
    assert est.finishes_today and est.rate == pytest.approx(20 / 60)
    assert est.finish == datetime(2026, 11, 23, 21, 30, tzinfo=TEHRAN)
    assert est.per_sim == {"m1": 300, "m2": 300}


def test_beyond_todays_quota_it_continues_after_midnight() -> None:
    est = estimate(1000, 1000, sims(100, 100), EVENING)  # 200 today, 800 a fresh day
    assert est.days == 2 and est.finish == datetime(2026, 11, 24, 0, 40, tzinfo=TEHRAN)


def test_a_window_starts_the_next_day_at_its_opening() -> None:
    est = estimate(400, 400, sims(100, 100), EVENING, window=parse_window("07:00-22:00"))
    assert est.finish == datetime(2026, 11, 24, 7, 10, tzinfo=TEHRAN)  # 200 by 22:00, 200 more from 07:00


def test_a_rate_cap_slows_it_down_and_measured_rates_count() -> None:
    capped = estimate(120, 60, sims(400, 400), EVENING, rate_cap=6)  # 6 msgs/min of 2 parts
    assert capped.finish == datetime(2026, 11, 23, 21, 10, tzinfo=TEHRAN)
    measured = estimate(60, 60, [SimCapacity("m1", 10, 400, 400, rate=0.1)], EVENING)
    assert measured.rate_measured and measured.finish == datetime(2026, 11, 23, 21, 10, tzinfo=TEHRAN)


def test_no_quota_anywhere_has_no_finish() -> None:
    est = estimate(10, 10, sims(0, 0, per_day=0), EVENING)
    assert est.finish is None


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [("07:00-23:00", "12:00", "23:30"), ("22:00-06:00", "23:30", "12:00"), ("00:00-24:00", "23:59", None)],
)
def test_windows(text: str, inside: str, outside: str | None) -> None:
    window = parse_window(text)
    at = lambda hhmm: EVENING.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))  # noqa: E731
    assert window.open_at(at(inside))
    if outside:
        assert not window.open_at(at(outside))


@pytest.mark.parametrize("bad", ["7-23", "25:00-01:00", "08:00-08:00", "night"])
def test_bad_windows_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(ValueError, match=r"HH:MM|empty|24:00"):
        parse_window(bad)
