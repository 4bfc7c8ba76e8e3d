"""Reading tickets: the list (one ticket, with its history and thread: :mod:`gateway.desk.casework`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.desk.rules import TICKET_STATUSES

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import TicketRow

__all__ = ["TICKET_STATUSES", "list_tickets"]


def list_tickets(config: Config, status: str | None, limit: int, sync: str | None = None) -> list[TicketRow]:
    """The newest ``limit`` tickets, with this ``status`` and CRM ``sync`` state if given. Blocking:
    read without asyncio when the database allows (:mod:`gateway.store.reader`: a command that
    lists tickets starts fast), else through the store, which migrates an older database or
    says why it cannot read this one. Async code asks the store (``TicketReader``) instead."""
    from gateway.store import reader

    path, timeout = config.database_path, config.storage.busy_timeout
    rows = reader.tickets(path, timeout, status=status, limit=limit, sync_status=sync)
    if rows is not None:
        return rows
    import asyncio

    return asyncio.run(_tickets(config, status, limit, sync))


async def _tickets(config: Config, status: str | None, limit: int, sync: str | None) -> list[TicketRow]:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await store.tickets(status=status, limit=limit, sync_status=sync)
