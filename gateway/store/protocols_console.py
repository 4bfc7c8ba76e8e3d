"""The console's narrow view of the store (:mod:`gateway.store.console`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store.reader import TicketFilter
    from gateway.store.rows_access import Actor


class ConsoleBook(Protocol):
    async def ticket_counts(self, where: TicketFilter) -> dict[str, int]: ...

    async def set_user_language(
        self, name: str, language: str, *, actor: Actor, now: datetime | None = ...
    ) -> bool: ...
