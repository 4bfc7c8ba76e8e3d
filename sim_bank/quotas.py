"""Operator limits per SIM (pure arithmetic on plain data).

Each SIM may send ``per_minute`` SMS parts in any rolling minute and
``per_day`` parts per calendar day in the site's time zone (Iran's regulator
caps a SIM at 500 a day). A multipart message counts as its number of parts.

Replies to customers keep a reserve of both: a ``reply_reserve`` share of the
day, and the same share of every minute (at least one part, never the whole
minute), so a broadcast can never leave a SIM unable to answer -- neither
today nor within the next send. Only a message longer than what the other
lanes may send in a minute may take a whole (empty) minute: it could not go
otherwise.

Two clocks: the calendar day comes from the wall clock, and only moves forward
(a clock stepped back over midnight does not hand a SIM a second day's quota);
the rolling minute is measured on the monotonic clock, so a wall clock stepped
back an hour does not stop a SIM for an hour.

The state is kept by the gateway's quota book and persisted by its store;
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
REPLY = "reply"


def _share(total: int, fraction: float) -> int:
    return math.ceil(round(total * fraction, 9))  # 0.1 * 30 is 3.0000000000000004, not 4


@dataclass(frozen=True)
class QuotaConfig:
    per_minute: int = DEFAULT_PER_MINUTE
    per_day: int = DEFAULT_PER_DAY
    reply_reserve: float = DEFAULT_REPLY_RESERVE  # share of per_day and of per_minute only replies may use

    @property
    def reserve(self) -> int:
        """Parts of the daily quota kept for replies."""
        return _share(self.per_day, self.reply_reserve)

    @property
    def minute_reserve(self) -> int:
        """Parts of every minute kept for replies: the same share as of the day, at least one
        part, never the whole minute (0 when ``reply_reserve`` is 0: the operator said none)."""
        if self.reply_reserve <= 0 or self.per_minute < 2:
            return 0
        return min(self.per_minute - 1, max(1, _share(self.per_minute, self.reply_reserve)))

    def minute_limit(self, lane: str) -> int:
        return self.per_minute if lane == REPLY else self.per_minute - self.minute_reserve

    def day_limit(self, lane: str) -> int:
        return self.per_day if lane == REPLY else self.per_day - self.reserve


@dataclass
class QuotaState:
    """What one SIM has used: parts today (``day`` is the local calendar day) and the
    send times (monotonic seconds) of the parts of the last minute."""

    day: date
    used_today: int = 0
    recent: deque[float] = field(default_factory=deque)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def roll(state: QuotaState, today: date, mono: float) -> None:
    """Bring the state to ``today`` and drop the parts that left the minute window by ``mono``.
    Only a later day starts from zero: the quota day never moves back (a wall clock stepped
    back over midnight keeps counting against the later day, so that going forward again
    does not reopen it -- a SIM never sends two days' quota on one calendar day)."""
    if today > state.day:
        state.day = today
        state.used_today = 0
    horizon = mono - WINDOW
    while state.recent and state.recent[0] <= horizon:
        state.recent.popleft()


def quota_day(state: QuotaState, today: date) -> date:
    """The day parts sent now count against: the wall clock's day, or the state's when that
    is later (the wall clock stepped back over midnight)."""
    return max(state.day, today)


def used_on(state: QuotaState, today: date) -> int:
    """Parts counted against the quota day that ``today`` falls in (0 once a later day began)."""
    return state.used_today if today <= state.day else 0


def day_left(cfg: QuotaConfig, state: QuotaState, lane: str, today: date) -> int:
    """Parts this lane may still send today on this SIM."""
    return max(0, cfg.day_limit(lane) - used_on(state, today))


def wait_for_minute(cfg: QuotaConfig, state: QuotaState, lane: str, parts: int, mono: float) -> float:
    """Seconds until ``parts`` more parts in ``lane`` fit the per-minute window (0 if they fit
    now; inf if they never will: more than ``per_minute``)."""
    if parts > cfg.per_minute:
        return math.inf
    roll(state, state.day, mono)
    if not state.recent:
        return 0.0
    limit = cfg.minute_limit(lane)
    if parts > limit:  # longer than this lane's share: only a whole empty minute takes it
        return max(0.0, state.recent[-1] + WINDOW - mono)
    over = len(state.recent) + parts - limit
    if over <= 0:
        return 0.0
    return max(0.0, state.recent[over - 1] + WINDOW - mono)


def record(state: QuotaState, parts: int, today: date, mono: float) -> date:
    """``parts`` parts went on air (count parts that went out even if a later part failed).
    Returns the quota day they count against (see :func:`quota_day`)."""
    roll(state, today, mono)
    state.used_today += parts
    state.recent.extend([mono] * parts)
    return state.day


def next_day_start(day: date, tz: ZoneInfo) -> datetime:
    """The local midnight after ``day`` (when daily quotas reset)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
