"""The SIM bank as the gateway sees it: a handful of async methods over N modems.

:class:`SimBank` is the interface (tests and other transports may pass
another); :class:`GsmSimBank` is the real one, one :class:`ModemWorker`
(thread + python-gsmmodem) per configured modem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from .exceptions import ModemUnavailable
from .types import BankEvent, ModemConfig, ModemState, OutgoingSms, SendResult
from .worker import ModemWorker


class SimBank(Protocol):
    def start(self, loop: asyncio.AbstractEventLoop, on_event: Callable[[BankEvent], None]) -> None: ...

    async def stop(self) -> None: ...

    @property
    def modem_ids(self) -> list[str]: ...

    def ready(self) -> list[str]:
        """Modems that can send right now."""
        ...

    def states(self) -> dict[str, ModemState]: ...

    async def send(self, modem_id: str, sms: OutgoingSms) -> SendResult: ...

    async def delete(self, modem_id: str, memory: str, indexes: list[int]) -> None: ...

    def release(self, modem_id: str, memory: str, indexes: list[int]) -> None: ...

    async def command(self, modem_id: str, command: str, timeout: float | None = None) -> list[str]: ...


class GsmSimBank:
    """Real modems (or emulators on ptys: the same code path)."""

    def __init__(self, configs: Sequence[ModemConfig]) -> None:
        self._configs = list(configs)
        self._workers: dict[str, ModemWorker] = {}
        self._states: dict[str, ModemState] = {c.id: ModemState(c.id, "connecting") for c in configs}
        self._on_event: Callable[[BankEvent], None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop, on_event: Callable[[BankEvent], None]) -> None:
        self._on_event = on_event
        for config in self._configs:
            worker = ModemWorker(config, loop=loop, on_event=self._event)
            self._workers[config.id] = worker
            worker.start()

    def _event(self, event: BankEvent) -> None:
        if isinstance(event, ModemState):
            self._states[event.modem_id] = event
        if self._on_event is not None:
            self._on_event(event)

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self._workers.values()))

    @property
    def modem_ids(self) -> list[str]:
        return [c.id for c in self._configs]

    def ready(self) -> list[str]:
        return [mid for mid, w in self._workers.items() if w.ready]

    def states(self) -> dict[str, ModemState]:
        return dict(self._states)

    def _worker(self, modem_id: str) -> ModemWorker:
        worker = self._workers.get(modem_id)
        if worker is None:
            raise ModemUnavailable(modem_id, "no such modem in this SIM bank")
        return worker

    async def send(self, modem_id: str, sms: OutgoingSms) -> SendResult:
        return await self._worker(modem_id).send(sms)

    async def delete(self, modem_id: str, memory: str, indexes: list[int]) -> None:
        await self._worker(modem_id).delete(memory, indexes)

    def release(self, modem_id: str, memory: str, indexes: list[int]) -> None:
        self._worker(modem_id).release(memory, indexes)

    async def command(self, modem_id: str, command: str, timeout: float | None = None) -> list[str]:
        return await self._worker(modem_id).command(command, timeout)
