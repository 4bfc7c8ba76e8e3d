"""Operator limits per SIM (pure arithmetic on plain data).

Each SIM may send ``per_minute`` SMS parts in any rolling minute and
``per_day`` parts per calendar day in the site's time zone (Iran's regulator
caps a SIM at 500 a day). A ``reply_reserve`` share of the daily quota is kept
for replies to customers, so a broadcast can never leave a SIM unable to
answer. A multipart message counts as its number of parts.

The state is kept by the dispatcher and persisted by the gateway's store;
this module only answers "may this SIM send N parts in this lane now?" and
"when will it be able to?".
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_PER_MINUTE = 10
DEFAULT_PER_DAY = 500
DEFAULT_REPLY_RESERVE = 0.2
WINDOW = 60.0  # seconds of the per-minute window


@dataclass(frozen=True)
class QuotaConfig:
    per_minute: int = DEFAULT_PER_MINUTE
    per_day: int = DEFAULT_PER_DAY
    reply_reserve: float = DEFAULT_REPLY_RESERVE  # share of per_day only replies may use

    @property
    def reserve(self) -> int:
        """Parts of the daily quota kept for replies."""
        return math.ceil(self.per_day * self.reply_reserve)


@dataclass
class QuotaState:
    """What one SIM has used: parts today (``day`` is the local calendar day) and the
    send times (epoch seconds) of the parts of the last minute."""

    day: date
    used_today: int = 0
    recent: deque[float] = field(default_factory=deque)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def _roll(state: QuotaState, at: datetime, tz: ZoneInfo) -> None:
    today = local_day(at, tz)
    if today != state.day:
        state.day = today
        state.used_today = 0
    horizon = at.timestamp() - WINDOW
    while state.recent and state.recent[0] <= horizon:
        state.recent.popleft()


def day_left(cfg: QuotaConfig, state: QuotaState, lane: str, at: datetime, tz: ZoneInfo) -> int:
    """Parts this lane may still send today on this SIM."""
    _roll(state, at, tz)
    limit = cfg.per_day if lane == "reply" else cfg.per_day - cfg.reserve
    return max(0, limit - state.used_today)


def may_send(cfg: QuotaConfig, state: QuotaState, lane: str, parts: int, at: datetime, tz: ZoneInfo) -> bool:
    """Whether ``parts`` parts in ``lane`` fit the SIM's limits now. A message longer
    than ``per_minute`` parts never does: the limit is the operator's, not ours."""
    if day_left(cfg, state, lane, at, tz) < parts:
        return False
    return len(state.recent) + parts <= cfg.per_minute


def record(state: QuotaState, parts: int, at: datetime, tz: ZoneInfo) -> None:
    """``parts`` parts went on air at ``at`` (count parts that went out even if a later part failed)."""
    _roll(state, at, tz)
    state.used_today += parts
    state.recent.extend([at.timestamp()] * parts)


def wait_for_minute(cfg: QuotaConfig, state: QuotaState, parts: int, at: datetime, tz: ZoneInfo) -> float:
    """Seconds until ``parts`` more parts fit the per-minute window (0 if they fit now)."""
    _roll(state, at, tz)
    over = len(state.recent) + parts - cfg.per_minute
    if over <= 0:
        return 0.0
    if over > len(state.recent):
        return math.inf  # longer than the whole window
    return max(0.0, state.recent[over - 1] + WINDOW - at.timestamp())


def next_day_start(at: datetime, tz: ZoneInfo) -> datetime:
    """The local midnight after ``at`` (when daily quotas reset)."""
    local = at.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return midnight
