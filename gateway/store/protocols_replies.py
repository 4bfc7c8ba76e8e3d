"""The view of the store that replies by hand need (``gateway tickets reply``; later the HTTP
API's ``POST /api/v1/tickets/{ref}/replies``), beside :mod:`gateway.store.protocols_desk`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows_tickets import HistoryRow, TicketRow

__all__ = ["ReplyDesk"]


class ReplyDesk(Protocol):
    """Find the ticket, learn which SIM its customer texted and how that SIM is, queue the reply
    with its history row."""

    async def ticket(self, *refs_or_ids: str, phone: str | None = ...) -> TicketRow | None: ...
    async def customer_sim(self, ticket: TicketRow) -> tuple[str | None, str | None]: ...
    async def add_ticket_reply(
        self,
        ticket_id: str,
        text: str,
        *,
        sim: str | None,
        actor: str,
        template: str | None = ...,
        now: datetime | None = ...,
    ) -> HistoryRow: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies the view

    def _store_view(store: Store) -> ReplyDesk:
        return store
