"""USSD for operators, and prepaid balances on a schedule.

``gateway ussd m1 "*140#"`` queues a request in the database; the daemon (which
owns the modems) dials it and writes the answer back, which the CLI prints.
SIMs with ``balance_ussd`` are asked for their balance every
``[balance] interval`` seconds; the amount is parsed (Persian and Latin digits,
rials, tomans, dinars), published with the SIM's status, and a SIM below its
``low_balance`` is reported in the logs and in ``gateway modems``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from sim_bank.bank import SimBank
from sim_bank.exceptions import SimBankError
from sim_bank.ussd import parse_balance

from .config import Config
from .sim_monitor import SimMonitor
from .store import STORE_ERRORS, Store, UssdRequestRow

log = structlog.get_logger("gateway.ussd")

FIRST_BALANCE_CHECK = 30.0  # seconds after start, once the modems have settled


class UssdService:
    def __init__(self, store: Store, bank: SimBank, config: Config, monitor: SimMonitor) -> None:
        self.store = store
        self.bank = bank
        self.config = config
        self.monitor = monitor
        self._wake = asyncio.Event()
        start = time.monotonic() + FIRST_BALANCE_CHECK
        self._next_balance = {m.id: start for m in config.modems if m.balance_ussd}

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                for request in await self.store.queued_ussd():
                    await self._answer(request)
            except STORE_ERRORS as exc:
                log.warning("ussd_store_error", error=str(exc))
            await self._balances_due()
            timeout = max(0.5, min(self._next_balance.values(), default=time.monotonic() + 3600) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _answer(self, request: UssdRequestRow) -> None:
        try:
            reply = await self.bank.ussd(request.modem_id, request.request, cancel=request.kind == "cancel")
        except SimBankError as exc:
            log.warning("ussd_failed", modem_id=request.modem_id, error=str(exc))
            await self.store.finish_ussd(request.id, response=None, session_open=False, error=str(exc))
            return
        error = None if reply.ok or request.kind == "cancel" else f"the network says: {reply.meaning}"
        await self.store.finish_ussd(request.id, response=reply.text, session_open=reply.session_open, error=error)
        log.info("ussd_answered", modem_id=request.modem_id, status=reply.status)

    async def _balances_due(self) -> None:
        now = time.monotonic()
        for modem in self.config.modems:
            due = self._next_balance.get(modem.id)
            if due is None or now < due or modem.id not in self.bank.ready():
                continue
            self._next_balance[modem.id] = now + self.config.balance.interval
            await self.check_balance(modem.id)

    async def check_balance(self, modem_id: str) -> None:
        modem = next(m for m in self.config.modems if m.id == modem_id)
        assert modem.balance_ussd is not None
        try:
            reply = await self.bank.ussd(modem_id, modem.balance_ussd)
        except SimBankError as exc:
            log.warning("balance_check_failed", modem_id=modem_id, error=str(exc))
            return
        text = reply.text or ""
        balance = parse_balance(text)
        low = balance is not None and modem.low_balance is not None and balance.amount < modem.low_balance
        self.monitor.set_balance(modem_id, balance, text, low)
        if balance is None:
            log.warning("balance_unreadable", modem_id=modem_id, status=reply.status)
        elif low:
            log.warning("balance_low", modem_id=modem_id, balance=str(balance.amount), threshold=modem.low_balance)
        else:
            log.info("balance", modem_id=modem_id, balance=str(balance.amount), currency=balance.currency)
