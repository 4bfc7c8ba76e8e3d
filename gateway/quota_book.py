"""Each SIM's operator limits, kept current while the daemon runs and rebuilt from the
database at start (so a restart does not hand a SIM a fresh day's quota)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sim_bank import quotas
from sim_bank.quotas import QuotaConfig, QuotaState
from sim_bank.types import ModemConfig

from .store import Store, utcnow

NEVER = -1.0


class QuotaBook:
    def __init__(self, modems: Sequence[ModemConfig], tz: ZoneInfo) -> None:
        self.tz = tz
        self.limits = {m.id: QuotaConfig(m.per_minute, m.per_day, m.reply_reserve) for m in modems}
        today = quotas.local_day(utcnow(), tz)
        self._state = {m.id: QuotaState(day=today) for m in modems}

    def day_key(self, at: datetime) -> str:
        return quotas.local_day(at, self.tz).isoformat()

    async def load(self, store: Store, now: datetime | None = None) -> None:
        """Today's usage and the last minute's sends, from the database."""
        now = now or utcnow()
        today = quotas.local_day(now, self.tz)
        usage = await store.usage_on(today.isoformat())
        recent: dict[str, deque[float]] = {}
        for modem_id, sent_at in await store.parts_since(now - timedelta(seconds=quotas.WINDOW)):
            recent.setdefault(modem_id, deque()).append(datetime.fromisoformat(sent_at).timestamp())
        for modem_id, state in self._state.items():
            state.day = today
            state.used_today = sum(usage.get(modem_id, {}).values())
            state.recent = recent.get(modem_id, deque())

    @property
    def max_parts(self) -> int | None:
        """The longest message (in parts) any SIM may send within its per-minute limit."""
        return max((limit.per_minute for limit in self.limits.values()), default=None)

    def fits(self, modem_id: str, lane: str, parts: int, at: datetime) -> bool:
        return self.wait(modem_id, lane, parts, at) == 0

    def wait(self, modem_id: str, lane: str, parts: int, at: datetime) -> float:
        """Seconds until ``parts`` parts in ``lane`` fit this SIM's limits: 0 now; until its
        minute window frees; until local midnight when today's quota is spent; NEVER when
        the message is longer than the SIM may send in any one minute."""
        state = self._state.get(modem_id)
        if state is None:
            return 0.0  # a SIM without configured limits
        limit = self.limits[modem_id]
        if parts > limit.per_minute:
            return NEVER
        if quotas.day_left(limit, state, lane, at, self.tz) < parts:
            return (quotas.next_day_start(at, self.tz) - at).total_seconds()
        return quotas.wait_for_minute(limit, state, parts, at, self.tz)

    def record(self, modem_id: str, parts: int, at: datetime) -> None:
        state = self._state.get(modem_id)
        if state is not None and parts > 0:
            quotas.record(state, parts, at, self.tz)

    def sent_today(self, modem_id: str, at: datetime) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        limit = self.limits[modem_id]
        return limit.per_day - quotas.day_left(limit, state, "reply", at, self.tz)

    def left_today(self, modem_id: str, lane: str, at: datetime) -> int:
        state = self._state.get(modem_id)
        if state is None:
            return 0
        return quotas.day_left(self.limits[modem_id], state, lane, at, self.tz)
