"""The desk's view of the store (case work: ``gateway tickets status|note|assign|show``; later
the HTTP API), beside :mod:`gateway.store.protocols` so that each module stays small."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows import MessageRow, OutboxRow
    from gateway.store.rows_tickets import HistoryRow, TicketRow

__all__ = ["CaseDesk"]


class CaseDesk(Protocol):
    """Case work on one ticket: find it, change it (each change kept in its history), show it."""

    async def ticket(self, *refs_or_ids: str, phone: str | None = ...) -> TicketRow | None: ...
    async def change_ticket_status(
        self,
        ticket_id: str,
        status: str,
        *,
        expected: str,
        actor: str,
        note: str | None = ...,
        notice: str | None = ...,
        now: datetime | None = ...,
    ) -> HistoryRow: ...
    async def add_ticket_note(
        self, ticket_id: str, text: str, *, actor: str, now: datetime | None = ...
    ) -> HistoryRow: ...
    async def assign_ticket(
        self, ticket_id: str, user: str | None, *, expected: str | None, actor: str, now: datetime | None = ...
    ) -> HistoryRow: ...
    async def ticket_history(self, ticket_id: str) -> list[HistoryRow]: ...
    async def ticket_thread(self, ticket: TicketRow) -> tuple[list[MessageRow], list[OutboxRow]]: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies the view

    def _store_view(store: Store) -> CaseDesk:
        return store
