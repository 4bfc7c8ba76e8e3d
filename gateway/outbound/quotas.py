"""Each SIM's operator limits, kept current while the daemon runs and rebuilt from the
database at start (so a restart does not hand a SIM a fresh day's quota).

The day is the local calendar day of the wall clock; the per-minute window is kept
on the monotonic clock (see :mod:`sim_bank.quotas`): a wall clock stepped back an
hour neither stops a SIM for an hour nor reopens a day already spent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.outbound.choice import NEVER
from gateway.runtime import SYSTEM, Clock
from gateway.store import Store
from sim_bank import ModemConfig, quotas
from sim_bank.quotas import QuotaConfig, QuotaState


class QuotaBook:
    def __init__(self, modems: Sequence[ModemConfig], tz: ZoneInfo, clock: Clock = SYSTEM) -> None:
        self.tz = tz
        self.clock = clock
        self.limits = {m.id: QuotaConfig(m.per_minute, m.per_day, m.reply_reserve) for m in modems}
        today = quotas.local_day(clock.wall(), tz)
        self._state = {m.id: QuotaState(day=today) for m in modems}

    def _today(self) -> date:
        return quotas.local_day(self.clock.wall(), self.tz)

    def day_key(self, modem_id: str) -> str:
        """The quota day parts sent now from ``modem_id`` count against (``sim_usage.day``): the
        wall clock's local day, or the later day the SIM already counts against when the wall
        clock stepped back over midnight (the usage rows must say the day the quota does)."""
        today = self._today()
        state = self._state.get(modem_id)
        return (today if state is None else quotas.quota_day(state, today)).isoformat()

    async def load(self, store: Store) -> None:
        """Today's usage and the last minute's sends, from the database. A part stamped later
        than now (the wall clock went back since) counts as sent just now; so does a day: usage
        already filed under tomorrow means the wall clock is behind, and that day is the quota day."""
        now, mono = self.clock.wall(), self.clock.monotonic()
        today = quotas.local_day(now, self.tz)
        tomorrow = today + timedelta(days=1)
        usage = await store.usage_on(tomorrow.isoformat())
        if any(sum(by_lane.values()) for by_lane in usage.values()):
            today = tomorrow
        else:
            usage = await store.usage_on(today.isoformat())
        recent: dict[str, list[float]] = {}
        for modem_id, sent_at in await store.parts_since(now - timedelta(seconds=quotas.WINDOW)):
            from_store = datetime.fromisoformat(sent_at)
            age = min(quotas.WINDOW, max(0.0, (now - from_store).total_seconds()))
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
        if quotas.day_left(limit, state, lane, quotas.local_day(now, self.tz)) < parts:
            return max(1.0, (quotas.next_day_start(state.day, self.tz) - now).total_seconds())
        return quotas.wait_for_minute(limit, state, lane, parts, self.clock.monotonic())

    def record(self, modem_id: str, parts: int) -> str:
        """``parts`` parts went on air from ``modem_id``; returns the quota day they count
        against (:meth:`day_key`), for the usage rows."""
        state = self._state.get(modem_id)
        if state is not None and parts > 0:
            quotas.record(state, parts, self._today(), self.clock.monotonic())
        return self.day_key(modem_id)

    def sent_today(self, modem_id: str) -> int:
        """Parts counted against the SIM's quota day (0 once a new day began)."""
        state = self._state.get(modem_id)
        return 0 if state is None else quotas.used_on(state, self._today())

    def left_today(self, modem_id: str, lane: str) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        return quotas.day_left(self.limits[modem_id], state, lane, self._today())
