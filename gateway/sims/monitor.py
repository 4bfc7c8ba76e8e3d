"""Each SIM's state, published to the database for ``gateway modems`` and reports.

The daemon owns the serial ports, so the CLI cannot ask a modem anything; it
reads what this monitor last wrote (with its time, so a stale row shows).
Written whenever a SIM changes state (at most once per ``coalesce`` seconds) and
every ``publish_interval`` seconds: a :class:`gateway.runtime.Service`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from gateway.config import Config
from gateway.outbound.quotas import QuotaBook
from gateway.runtime import BaseService, Clock, Intervals, as_clock
from gateway.store import STORE_ERRORS, SimBoard, SimStatusRow, stamp
from sim_bank import BankEvent, ModemHealth, ModemState, SimBank
from sim_bank.ussd import Balance

log = structlog.get_logger("gateway.sims")

PUBLISH_INTERVAL = 15.0  # seconds between writes when nothing changes (default)
COALESCE = 0.2  # seconds: at most one write per this interval, however fast SIMs change (default)


class SimMonitor(BaseService):
    name = "sim-monitor"

    def __init__(
        self,
        store: SimBoard,
        bank: SimBank,
        config: Config,
        quota: QuotaBook,
        clock: Clock | Callable[[], datetime] | None = None,
        *,
        publish_interval: float = PUBLISH_INTERVAL,
        coalesce: float = COALESCE,
    ) -> None:
        super().__init__()
        self.intervals = Intervals(idle=publish_interval, coalesce=coalesce)
        self.store = store
        self.bank = bank
        self.config = config
        self.quota = quota
        self.clock = as_clock(clock)
        self._health: dict[str, ModemHealth] = {}
        self._errors: dict[str, str] = {}
        self._balance: dict[str, tuple[Balance | None, str, str, bool]] = {}
        self._waiting: dict[str, int] = {}

    def on_event(self, event: BankEvent) -> None:
        if isinstance(event, ModemHealth):
            self._health[event.modem_id] = event
        elif isinstance(event, ModemState):
            if event.state in ("down", "quarantined") and event.reason:
                self._errors[event.modem_id] = event.reason
        else:
            return
        self.wake()

    def send_error(self, modem_id: str, reason: str) -> None:
        self._errors[modem_id] = reason
        self.wake()

    def set_balance(self, modem_id: str, balance: Balance | None, text: str, low: bool) -> None:
        self._balance[modem_id] = (balance, text, stamp(self.clock.wall()), low)
        self.wake()

    def rows(self) -> list[SimStatusRow]:
        now = self.clock.wall()
        states = self.bank.states()
        rows = []
        for modem in self.config.modems:
            state = states.get(modem.id, ModemState(modem.id, "connecting"))
            health = self._health.get(modem.id)
            balance, balance_text, balance_at, low = self._balance.get(modem.id, (None, None, None, False))
            rows.append(
                SimStatusRow(
                    modem_id=modem.id,
                    port=modem.port,
                    state=state.state,
                    reason=state.reason,
                    operator=(health.operator if health else None) or (state.info.operator if state.info else None),
                    signal=health.signal if health else None,
                    registration=health.registration if health else None,
                    storage_used=health.storage_used if health else None,
                    storage_total=health.storage_total if health else None,
                    sent_today=self.quota.sent_today(modem.id),
                    per_day=self.config.sim(modem.id).per_day,
                    queued=self._waiting.get(modem.id, 0),
                    last_error=self._errors.get(modem.id),
                    balance=str(balance.amount) if balance else None,
                    balance_currency=balance.currency if balance else None,
                    balance_text=balance_text,
                    balance_at=balance_at,
                    low_balance=int(low),
                    updated_at=stamp(now),
                )
            )
        return rows

    async def publish(self) -> None:
        try:
            self._waiting = await self.store.waiting_per_modem()
            await self.store.save_sim_status(self.rows())
        except STORE_ERRORS as exc:
            log.warning("sim_status_unsaved", error=str(exc))

    async def step(self) -> None:
        """A change is written at once; the changes that follow within ``coalesce`` are one
        write (the loop clears the wake before this round: a change while it runs is the next)."""
        await self.publish()
