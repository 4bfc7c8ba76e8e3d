"""USSD for operators, and prepaid balances on a schedule.

``gateway ussd m1 "*140#"`` queues a request in the database; the daemon (which
owns the modems) dials it and writes the answer back, which the CLI prints.
Each request is claimed before it is dialled, so a request the CLI gave up on
is never dialled later, and none is dialled twice (a USSD can buy a package).

SIMs with ``balance_ussd`` are asked for their balance every
``[balance] interval`` seconds; the amount is parsed (Persian and Latin digits,
rials, tomans, dinars), published with the SIM's status, and a SIM below its
``low_balance`` is reported in the logs and in ``gateway modems``. A balance
check waits while an operator's menu session on that SIM is open.

Work for one SIM is serialised (one USSD session per SIM at a time); SIMs do not
wait for each other. A :class:`gateway.runtime.Service`: each round dials what is
queued and starts the balance checks that are due.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import structlog

from gateway.config import Config
from gateway.runtime import BaseService, Clock, Tasks, as_clock, retry_store
from gateway.sims.monitor import SimMonitor
from gateway.store import STORE_ERRORS, UssdQueue, UssdRequestRow
from sim_bank import SimBank, SimBankError
from sim_bank.ussd import Balance, parse_balance

log = structlog.get_logger("gateway.ussd")
T = TypeVar("T")

FIRST_BALANCE_CHECK = 30.0  # seconds after start, once the modems have settled (default)
SESSION_HOLD = 120.0  # seconds an open menu session keeps balance checks away from its SIM (default)
MIN_WAIT = 0.5  # seconds at least between two rounds that nothing woke (default)
IDLE = 3600.0  # seconds between rounds when no balance check is due at all (default)


class UssdService(BaseService):
    name = "ussd"

    def __init__(
        self,
        store: UssdQueue,
        bank: SimBank,
        config: Config,
        monitor: SimMonitor | None,
        clock: Clock | None = None,
        *,
        first_balance_check: float = FIRST_BALANCE_CHECK,
        session_hold: float = SESSION_HOLD,
        min_wait: float = MIN_WAIT,
        idle: float = IDLE,
    ) -> None:
        super().__init__()
        self._min_wait = min_wait
        self._idle = idle
        self.clock = as_clock(clock)  # every wait here (first check, interval, open session) is monotonic
        self.store = store
        self.bank = bank
        self.config = config
        self.monitor = monitor
        self.tasks = Tasks()  # one session per SIM at a time
        self._session_hold = session_hold
        self._session_until: dict[str, float] = {}
        start = self.clock.monotonic() + first_balance_check
        self._next_balance = {m.id: start for m in config.modems if config.sim(m.id).balance_ussd}

    async def start(self) -> None:
        with contextlib.suppress(*STORE_ERRORS):
            interrupted = await self.store.fail_interrupted_ussd()
            if interrupted:
                log.warning("ussd_interrupted", requests=interrupted)

    async def step(self) -> float:
        try:
            for request in await self.store.queued_ussd():
                self.tasks.spawn(self._answer(request), key=request.modem_id)
        except STORE_ERRORS as exc:
            log.warning("ussd_store_error", error=str(exc))
        self._balances_due()
        now = self.clock.monotonic()
        soonest = min(self._next_balance.values(), default=now + self._idle)
        return max(self._min_wait, soonest - now)

    async def stop(self) -> None:
        await self.tasks.cancel()

    async def _answer(self, request: UssdRequestRow) -> None:
        if not await self._retrying(lambda: self.store.claim_ussd(request.id)):
            return  # taken already, or the CLI gave up on it
        error = response = None
        session = False
        try:
            reply = await self.bank.ussd(request.modem_id, request.request, cancel=request.kind == "cancel")
        except SimBankError as exc:
            error = str(exc)
            log.warning("ussd_failed", modem_id=request.modem_id, error=error)
        else:
            response, session = reply.text, reply.session_open
            if not reply.ok and request.kind != "cancel":
                error = f"the network says: {reply.meaning}"
            log.info("ussd_answered", modem_id=request.modem_id, status=reply.status)
        if session:
            self._session_until[request.modem_id] = self.clock.monotonic() + self._session_hold
        else:
            self._session_until.pop(request.modem_id, None)
        await self._retrying(
            lambda: self.store.finish_ussd(
                request.id, response=response, session_open=session, error=error, now=self.clock.wall()
            )
        )

    async def _retrying(self, write: Callable[[], Awaitable[T]]) -> T:
        def logged(exc: Exception, delay: float) -> None:
            log.warning("ussd_store_error", error=str(exc), retry_in=delay)

        return await retry_store(write, errors=STORE_ERRORS, clock=self.clock, on_error=logged)

    def _balances_due(self) -> None:
        now = self.clock.monotonic()
        for modem in self.config.modems:
            due = self._next_balance.get(modem.id)
            if due is None or now < due or modem.id not in self.bank.ready():
                continue
            if self._session_until.get(modem.id, 0) > now:
                self._next_balance[modem.id] = self._session_until[modem.id]
                continue
            self._next_balance[modem.id] = now + self.config.balance.interval
            self.tasks.spawn(self.check_balance(modem.id), key=modem.id)

    async def check_balance(self, modem_id: str) -> Balance | None:
        sim = self.config.sim(modem_id)
        assert sim.balance_ussd is not None
        try:
            reply = await self.bank.ussd(modem_id, sim.balance_ussd)
        except SimBankError as exc:
            log.warning("balance_check_failed", modem_id=modem_id, error=str(exc))
            return None
        text = reply.text or ""
        balance = parse_balance(text)
        low = balance is not None and sim.low_balance is not None and in_rials(balance) < sim.low_balance
        if self.monitor is not None:
            self.monitor.set_balance(modem_id, balance, text, low)
        if balance is None:
            log.warning("balance_unreadable", modem_id=modem_id, status=reply.status)
        elif low:
            log.warning("balance_low", modem_id=modem_id, balance=str(balance.amount), threshold=sim.low_balance)
        else:
            log.info("balance", modem_id=modem_id, balance=str(balance.amount), currency=balance.currency)
        return balance


def in_rials(balance: Balance) -> Decimal:
    """``low_balance`` is in rials for Iranian SIMs: a balance in tomans is ten times as many rials."""
    return balance.amount * 10 if balance.currency == "IRT" else balance.amount
