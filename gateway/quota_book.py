"""Each SIM's operator limits, kept current while the daemon runs and rebuilt from the
database at start (so a restart does not hand a SIM a fresh day's quota).

The day is the local calendar day of the wall clock; the per-minute window is kept
on the monotonic clock (see :mod:`sim_bank.quotas`): a wall clock stepped back an
hour neither stops a SIM for an hour nor reopens a day already spent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sim_bank import quotas
from sim_bank.quotas import QuotaConfig, QuotaState
from sim_bank.types import ModemConfig

from .clock import SYSTEM, Clock
from .store import Store

NEVER = -1.0


class QuotaBook:
    def __init__(self, modems: Sequence[ModemConfig], tz: ZoneInfo, clock: Clock = SYSTEM) -> None:
        self.tz = tz
        self.clock = clock
        self.limits = {m.id: QuotaConfig(m.per_minute, m.per_day, m.reply_reserve) for m in modems}
        today = quotas.local_day(clock.wall(), tz)
        self._state = {m.id: QuotaState(day=today) for m in modems}

    def day_key(self) -> str:
        """The quota day parts sent now count against (``sim_usage.day``)."""
        return quotas.local_day(self.clock.wall(), self.tz).isoformat()

    async def load(self, store: Store) -> None:
        """Today's usage and the last minute's sends, from the database. A part stamped later
        than now (the wall clock went back since) counts as sent just now."""
        now, mono = self.clock.wall(), self.clock.monotonic()
        today = quotas.local_day(now, self.tz)
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

    def fits(self, modem_id: str, lane: str, parts: int) -> bool:
        return self.wait(modem_id, lane, parts) == 0

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

    def record(self, modem_id: str, parts: int) -> None:
        state = self._state.get(modem_id)
        if state is not None and parts > 0:
            today = quotas.local_day(self.clock.wall(), self.tz)
            quotas.record(state, parts, today, self.clock.monotonic())

    def sent_today(self, modem_id: str) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        quotas.day_left(self.limits[modem_id], state, "reply", quotas.local_day(self.clock.wall(), self.tz))
        return state.used_today

    def left_today(self, modem_id: str, lane: str) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        return quotas.day_left(self.limits[modem_id], state, lane, quotas.local_day(self.clock.wall(), self.tz))
