"""How long a broadcast will take, and what it costs each SIM (pure arithmetic).

A dry run shows the operator, before anything is queued: the parts per SIM,
what each SIM has left today for broadcasts (its daily quota minus what it
sent minus the reserve kept for replies), and when the last message should
go -- from the SIMs' measured send rate (or their per-minute limit when none
was measured), the campaign's own rate cap and its send window, day by day
as quotas renew at local midnight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gateway.config.window import Window

MAX_DAYS = 366


@dataclass(frozen=True)
class SimCapacity:
    modem_id: str
    per_minute: int  # parts
    left_today: int  # parts a broadcast may still use today
    per_day: int  # parts a broadcast may use on a fresh day (per_day minus the reply reserve)
    rate: float | None = None  # measured parts a second; None: not measured


@dataclass(frozen=True)
class Estimate:
    parts: int
    rate: float  # parts a second, all SIMs together, after the campaign's cap
    rate_measured: bool
    per_sim: dict[str, int]  # parts each SIM would send
    finish: datetime | None  # None: not within MAX_DAYS (or no SIM)
    days: int  # calendar days it spans (1: finishes today)

    @property
    def finishes_today(self) -> bool:
        return self.finish is not None and self.days == 1


def estimate(
    parts: int,
    messages: int,
    sims: Sequence[SimCapacity],
    now: datetime,
    *,
    window: Window | None = None,
    rate_cap: int | None = None,
) -> Estimate:
    """When ``parts`` parts (``messages`` messages) would be out, starting at ``now`` (aware,
    in the site's time zone)."""
    usable = [s for s in sims if s.per_day > 0]
    measured = [s for s in usable if s.rate]
    rate = sum(min(s.rate or s.per_minute / 60, s.per_minute / 60) for s in usable)
    if rate_cap and messages:
        rate = min(rate, rate_cap / 60 * parts / messages)
    per_sim = _share(parts, usable)
    if not usable or parts <= 0 or rate <= 0:
        return Estimate(parts, rate, bool(measured), per_sim, now if parts <= 0 else None, 1)
    left = parts
    day = now.date()
    capacity = sum(s.left_today for s in usable)
    for n in range(MAX_DAYS):
        for start, end in _open(day, now, window):
            can = min(capacity, math.floor(rate * (end - start).total_seconds()))
            if left <= can:
                return Estimate(parts, rate, bool(measured), per_sim, start + timedelta(seconds=left / rate), n + 1)
            left -= can
            capacity -= can
        day += timedelta(days=1)
        capacity = sum(s.per_day for s in usable)
    return Estimate(parts, rate, bool(measured), per_sim, None, MAX_DAYS)


def _open(day: date, now: datetime, window: Window | None) -> list[tuple[datetime, datetime]]:
    tz = now.tzinfo
    if window is None:
        stretches = [(datetime.combine(day, time(0), tzinfo=tz), datetime.combine(day, time(0), tzinfo=tz)
                      + timedelta(days=1))]  # fmt: skip
    else:
        stretches = window.intervals(day, tz)
    return [(max(a, now), b) for a, b in stretches if b > now]


def _share(parts: int, sims: Sequence[SimCapacity]) -> dict[str, int]:
    """Parts per SIM, in proportion to what each may send (the dispatcher spreads the work)."""
    total = sum(s.per_day for s in sims)
    if not total:
        return {}
    out = {s.modem_id: parts * s.per_day // total for s in sims}
    for s in sims[: parts - sum(out.values())]:
        out[s.modem_id] += 1
    return out
