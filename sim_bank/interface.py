"""The SIM bank as the gateway sees it: a handful of async methods over N modems.

:class:`SimBank` is the interface the gateway is written against; the real
one is :class:`sim_bank.bank.GsmSimBank` (python-gsmmodem over pyserial), and
tests and other transports may pass another. This module imports neither
gsmmodem nor pyserial, so code that only needs the interface stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .types import BankEvent, ModemState, OutgoingSms, SendResult
from .ussd import UssdReply

if TYPE_CHECKING:
    import asyncio


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

    async def ussd(self, modem_id: str, code: str, *, cancel: bool = False) -> UssdReply: ...
