"""CRM sync's view of the store with the desk's changes on their way back (``POST
/ticket-events``), beside :mod:`gateway.store.protocols` so that each module stays small."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from gateway.store.protocols import CrmSyncStore
from gateway.store.protocols_outages import OutageEvents

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows import LeaseTerms
    from gateway.store.ticket_events import EventRow

__all__ = ["CrmEventsStore", "TicketEventsQueue"]


class TicketEventsQueue(Protocol):
    """The local changes not yet answered for by the CRM, and where their cursor stands."""

    async def next_events(self, size: int, *, lease: LeaseTerms | None = ...) -> list[EventRow]: ...
    async def settle_events(
        self, rejected: Sequence[tuple[int, str]], done: Sequence[int], cursor: int | None
    ) -> None: ...
    async def has_pending_events(self) -> bool: ...


class CrmEventsStore(CrmSyncStore, TicketEventsQueue, OutageEvents, Protocol):
    """CRM sync as a whole (:mod:`gateway.crm.sync`): tickets out, updates in, the desk's changes
    and the outages' stages out."""


if TYPE_CHECKING:  # mypy proves that the store satisfies the views

    def _store_views(store: Store) -> tuple[TicketEventsQueue, CrmEventsStore]:
        return store, store
