"""Watching the daemon from outside: an observer that keeps every event (the demo, tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from gateway.events import MessageRouted, OutboxDone

E = TypeVar("E")


class EventLog:
    """An observer that keeps every event and lets a caller wait for the one it needs
    (the demo waits for each customer's reply; tests do the same, also with SIM bank events)."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._changed = asyncio.Event()

    def __call__(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait(self, kind: type[E], match: Callable[[E], bool] = lambda _e: True, timeout: float = 10.0) -> E:
        async def first() -> E:
            while True:
                for event in self.events:
                    if isinstance(event, kind) and match(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(first(), timeout)

    async def routed(self, sender: str, timeout: float = 10.0, after_id: int = 0) -> MessageRouted:
        """The first message from ``sender`` routed with a message id above ``after_id``."""
        return await self.wait(MessageRouted, lambda e: e.message.sender == sender and e.message.id > after_id, timeout)

    async def done(self, outbox_id: int, timeout: float = 10.0) -> OutboxDone:
        return await self.wait(OutboxDone, lambda e: e.row.id == outbox_id, timeout)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]
