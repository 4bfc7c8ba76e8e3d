"""The real SIM bank: :class:`GsmSimBank`, one :class:`ModemWorker`
(thread + python-gsmmodem) per configured modem. The bank also keeps each
SIM's health (:mod:`sim_bank.health`): a SIM that is unregistered, has no
signal or keeps failing is quarantined -- left out of :meth:`ready` -- and
comes back by itself. It is a :class:`~sim_bank.interface.SimBank` (the
interface, importable without gsmmodem).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import health
from .exceptions import ModemUnavailable, SendFailed
from .health import Health, HealthPolicy
from .types import BankEvent, ModemConfig, ModemHealth, ModemState, OutgoingSms, SendResult
from .ussd import UssdReply
from .worker import ModemWorker

__all__ = ["GsmSimBank"]


class GsmSimBank:
    """Real modems (or emulators on ptys: the same code path), with health and quarantine."""

    def __init__(
        self,
        configs: Sequence[ModemConfig],
        policy: HealthPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configs = list(configs)
        self.policy = policy or HealthPolicy()
        self._clock = clock
        self._workers: dict[str, ModemWorker] = {}
        self._states: dict[str, ModemState] = {c.id: ModemState(c.id, "connecting") for c in configs}
        self._health = {c.id: Health() for c in configs}
        self.last_poll: dict[str, ModemHealth] = {}
        self._on_event: Callable[[BankEvent], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop, on_event: Callable[[BankEvent], None]) -> None:
        self._on_event = on_event
        self._loop = loop
        for config in self._configs:
            worker = ModemWorker(config, loop=loop, on_event=self._event)
            self._workers[config.id] = worker
            worker.start()

    def _emit(self, event: BankEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _event(self, event: BankEvent) -> None:
        if isinstance(event, ModemState):
            self._states[event.modem_id] = event
        elif isinstance(event, ModemHealth):
            merged = self._merge_poll(event)
            change = health.polled(
                self._health[event.modem_id], self.policy, self._clock(), merged.signal, merged.registration
            )
            self._emit(event)
            self._health_changed(event.modem_id, change)
            return
        self._emit(event)

    def _merge_poll(self, event: ModemHealth) -> ModemHealth:
        """A +CREG notification carries only the registration: keep the rest from the last poll."""
        last = self.last_poll.get(event.modem_id)
        if last is not None and event.signal is None and event.operator is None and event.storage_total is None:
            event = dataclasses.replace(
                last, registration=event.registration if event.registration is not None else last.registration
            )
        self.last_poll[event.modem_id] = event
        return event

    def _health_changed(self, modem_id: str, change: str | None) -> None:
        h = self._health[modem_id]
        if change == "quarantined":
            retry = None if h.radio else max(0.0, (h.until or 0) - self._clock())
            self._emit(ModemState(modem_id, "quarantined", h.reason, retry_in=retry))
            if retry is not None and self._loop is not None:
                self._loop.call_later(retry + 0.01, self._quarantine_over, modem_id, h.until)
        elif change == "released":
            self._emit(ModemState(modem_id, "ready", "healthy again"))

    def _quarantine_over(self, modem_id: str, until: float | None) -> None:
        """A timed quarantine ended: say so, so that the dispatcher sends to it again (probation)."""
        h = self._health[modem_id]
        if h.until == until and h.available(self._clock()):
            self._emit(ModemState(modem_id, "ready", "quarantine over: on probation"))

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self._workers.values()))

    @property
    def modem_ids(self) -> list[str]:
        return [c.id for c in self._configs]

    def ready(self) -> list[str]:
        now = self._clock()
        return [mid for mid, w in self._workers.items() if w.ready and self._health[mid].available(now)]

    def states(self) -> dict[str, ModemState]:
        """Connection state, with a quarantine shown as such while it lasts."""
        now = self._clock()
        out = dict(self._states)
        for mid, h in self._health.items():
            if h.quarantined and not h.available(now) and out[mid].state == "ready":
                out[mid] = ModemState(mid, "quarantined", h.reason, out[mid].info, max(0.0, (h.until or 0) - now))
        return out

    def health(self, modem_id: str) -> Health:
        return self._health[modem_id]

    def _worker(self, modem_id: str) -> ModemWorker:
        worker = self._workers.get(modem_id)
        if worker is None:
            raise ModemUnavailable(modem_id, "no such modem in this SIM bank")
        return worker

    async def send(self, modem_id: str, sms: OutgoingSms) -> SendResult:
        worker = self._worker(modem_id)
        h = self._health[modem_id]
        try:
            result = await worker.send(sms)
        except SendFailed as exc:
            if health.send_failed(h, self.policy, self._clock(), exc.cms_code, exc.reason):
                self._health_changed(modem_id, "quarantined")
            raise
        if health.send_ok(h):
            self._emit(ModemState(modem_id, "ready", "a send went through after quarantine"))
        return result

    async def delete(self, modem_id: str, memory: str, indexes: list[int]) -> None:
        await self._worker(modem_id).delete(memory, indexes)

    def release(self, modem_id: str, memory: str, indexes: list[int]) -> None:
        self._worker(modem_id).release(memory, indexes)

    async def command(self, modem_id: str, command: str, timeout: float | None = None) -> list[str]:
        return await self._worker(modem_id).command(command, timeout)

    async def ussd(self, modem_id: str, code: str, *, cancel: bool = False) -> UssdReply:
        return await self._worker(modem_id).ussd(code, cancel=cancel)


if TYPE_CHECKING:
    from .interface import SimBank

    def _is_a_sim_bank(bank: GsmSimBank) -> SimBank:
        return bank  # mypy checks here that GsmSimBank keeps to the SimBank interface
