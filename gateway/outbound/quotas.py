"""Each SIM's operator limits: how many SMS parts it may send now, counted.

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

The arithmetic is pure functions on plain data (:class:`QuotaConfig`,
:class:`QuotaState`); :class:`QuotaBook` keeps every SIM's state current while
the daemon runs and rebuilds it from the database at start (so a restart does not
hand a SIM a fresh day's quota). Which SIM then sends is :mod:`gateway.outbound.choice`'s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.config.sections import DEFAULT_PER_DAY, DEFAULT_PER_MINUTE, DEFAULT_REPLY_RESERVE, Config, SimPolicy
from gateway.outbound.choice import NEVER, REPLY
from gateway.runtime import SYSTEM, Clock
from gateway.store.protocols import QuotaLedger

WINDOW = 60.0  # seconds of the per-minute window


def _share(total: int, fraction: float) -> int:
    return math.ceil(round(total * fraction, 9))  # 0.1 * 30 is 3.0000000000000004, not 4


@dataclass(frozen=True)
class QuotaConfig:
    per_minute: int = DEFAULT_PER_MINUTE
    per_day: int = DEFAULT_PER_DAY
    reply_reserve: float = DEFAULT_REPLY_RESERVE  # share of per_day and of per_minute only replies may use

    @classmethod
    def of(cls, sim: SimPolicy) -> QuotaConfig:
        return cls(sim.per_minute, sim.per_day, sim.reply_reserve)

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


def sim_limits(config: Config) -> dict[str, QuotaConfig]:
    """Each configured SIM's limits, by modem id (what :class:`QuotaBook` counts against)."""
    return {m.id: QuotaConfig.of(config.sim(m.id)) for m in config.modems}


def next_day_start(day: date, tz: ZoneInfo) -> datetime:
    """The local midnight after ``day`` (when daily quotas reset)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


class QuotaBook:
    """Every configured SIM's quota state, on the clock the daemon runs on."""

    def __init__(self, limits: Mapping[str, QuotaConfig], tz: ZoneInfo, clock: Clock = SYSTEM) -> None:
        self.tz = tz
        self.clock = clock
        self.limits = dict(limits)  # modem id -> its SIM's limits (sim_limits(config))
        today = local_day(clock.wall(), tz)
        self._state = {modem_id: QuotaState(day=today) for modem_id in self.limits}

    def _today(self) -> date:
        return local_day(self.clock.wall(), self.tz)

    def day_key(self, modem_id: str) -> str:
        """The quota day parts sent now from ``modem_id`` count against (``sim_usage.day``): the
        wall clock's local day, or the later day the SIM already counts against when the wall
        clock stepped back over midnight (the usage rows must say the day the quota does)."""
        today = self._today()
        state = self._state.get(modem_id)
        return (today if state is None else quota_day(state, today)).isoformat()

    async def load(self, store: QuotaLedger) -> None:
        """Today's usage and the last minute's sends, from the database. A part stamped later
        than now (the wall clock went back since) counts as sent just now; so does a day: usage
        already filed under tomorrow means the wall clock is behind, and that day is the quota day."""
        now, mono = self.clock.wall(), self.clock.monotonic()
        today = local_day(now, self.tz)
        tomorrow = today + timedelta(days=1)
        usage = await store.usage_on(tomorrow.isoformat())
        if any(sum(by_lane.values()) for by_lane in usage.values()):
            today = tomorrow
        else:
            usage = await store.usage_on(today.isoformat())
        recent: dict[str, list[float]] = {}
        for modem_id, sent_at in await store.parts_since(now - timedelta(seconds=WINDOW)):
            from_store = datetime.fromisoformat(sent_at)
            age = min(WINDOW, max(0.0, (now - from_store).total_seconds()))
            recent.setdefault(modem_id, []).append(mono - age)
        for modem_id, state in self._state.items():
            state.day = today
            state.used_today = sum(usage.get(modem_id, {}).values())
            sends = sorted(recent.get(modem_id, []))
            state.recent = deque(sends[-self.limits[modem_id].per_minute :])  # more say nothing more

    @property
    def max_parts(self) -> int | None:
        """The longest message (in parts) any SIM may send within its per-minute limit."""
        return max((limit.per_minute for limit in self.limits.values()), default=None)

    def wait(self, modem_id: str, lane: str, parts: int) -> float:
        """Seconds until ``parts`` parts in ``lane`` fit this SIM's limits: 0 now; until its
        minute window frees; until local midnight when today's quota is spent; NEVER when
        the message is longer than the SIM may send in any one minute."""
        state = self._state.get(modem_id)
        if state is None:
            return 0.0  # a SIM without configured limits
        limit = self.limits[modem_id]
        if parts > limit.per_minute:
            return NEVER
        now = self.clock.wall()
        if day_left(limit, state, lane, local_day(now, self.tz)) < parts:
            return max(1.0, (next_day_start(state.day, self.tz) - now).total_seconds())
        return wait_for_minute(limit, state, lane, parts, self.clock.monotonic())

    def record(self, modem_id: str, parts: int) -> str:
        """``parts`` parts went on air from ``modem_id``; returns the quota day they count
        against (:meth:`day_key`), for the usage rows."""
        state = self._state.get(modem_id)
        if state is not None and parts > 0:
            record(state, parts, self._today(), self.clock.monotonic())
        return self.day_key(modem_id)

    def sent_today(self, modem_id: str) -> int:
        """Parts counted against the SIM's quota day (0 once a new day began)."""
        state = self._state.get(modem_id)
        return 0 if state is None else used_on(state, self._today())

    def left_today(self, modem_id: str, lane: str) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        return day_left(self.limits[modem_id], state, lane, self._today())
