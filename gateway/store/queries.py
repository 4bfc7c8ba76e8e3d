"""Read-only views for the CLI and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.store.base import StoreBase, _row, _rows
from gateway.store.rows_tickets import TicketRow

if TYPE_CHECKING:
    from gateway.store.reader import TicketFilter


class QueriesMixin(StoreBase):
    async def tickets(
        self, status: str | None = None, limit: int = 50, sync_status: str | None = None
    ) -> list[TicketRow]:
        where = {"status": status, "sync_status": sync_status}
        return await self._select(TicketRow, "tickets", where, "received_at DESC, seq DESC", limit)

    async def find_tickets(self, where: TicketFilter, limit: int = 50) -> list[TicketRow]:
        """The newest ``limit`` tickets ``where`` lets through (the API's list; the CLI reads
        the same way without asyncio, :func:`gateway.store.reader.tickets`)."""
        clause, params = where.where()
        if where.search is not None:
            fold = where.fold or str.casefold
            await self._r.create_function("fold_text", 1, lambda text: fold(text or ""), deterministic=True)
        sql = f"SELECT * FROM tickets WHERE {clause} ORDER BY received_at DESC, seq DESC LIMIT ?"
        async with self._r.execute(sql, (*params, limit)) as cur:
            return _rows(TicketRow, await cur.fetchall())

    async def ticket(self, *refs_or_ids: str, phone: str | None = None) -> TicketRow | None:
        """The ticket with one of these refs or ids (the newest, if several match); with
        ``phone``, only a ticket that phone opened."""
        if not refs_or_ids:
            return None
        marks = ", ".join("?" for _ in refs_or_ids)
        owner = " AND phone = ?" if phone is not None else ""
        async with self._r.execute(
            f"SELECT * FROM tickets WHERE (ref IN ({marks}) OR id IN ({marks})){owner} ORDER BY seq DESC LIMIT 1",
            (*refs_or_ids, *refs_or_ids, *([phone] if phone is not None else [])),
        ) as cur:
            return _row(TicketRow, await cur.fetchone())

    async def counts(self) -> dict[str, dict[str, int]]:
        """Rows by state, per table: the numbers behind ``demo``'s summary and ``stats``."""
        out: dict[str, dict[str, int]] = {}
        for table, column in (
            ("messages", "state"),
            ("tickets", "category"),
            ("outbox", "status"),
            ("inbound_pdus", "kind"),
        ):
            async with self._r.execute(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}") as cur:
                out[table] = {str(k): int(v) for k, v in await cur.fetchall()}
        async with self._r.execute(
            "SELECT (SELECT COALESCE(SUM(repeat_count), 0) FROM tickets),"
            " (SELECT COUNT(*) FROM customers WHERE opted_out = 1)"
        ) as cur:
            repeats, opted_out = await cur.fetchone() or (0, 0)
        out["customers"] = {"repeats": int(repeats), "opted_out": int(opted_out)}
        return out
