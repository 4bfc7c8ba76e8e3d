"""Everything a phone said, read back (``gateway messages``, ``gateway thread``, ``gateway outbox
show``): SMS in and out by phone, time and id, an outbox row's parts with their delivery
states. Read-only queries on the reader connection; each goes by an index (a test reads the
plans): ``messages_phone`` and ``outbox_phone`` for a phone, the tables' ids for the newest
rows and for what came after a row seen (``--follow``), ``outbox_created`` for the outbox by
time, ``tickets_phone`` for a phone's tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.store.base import StoreBase, T, _row, _rows
from gateway.store.rows import MessageRow, OutboxRow
from gateway.store.rows_tickets import TicketRow

# Statements by name, so that a test reads each one's plan with the parameters it is given.
SQL = {
    "in_by_phone": "SELECT * FROM messages WHERE phone = ? AND received_at >= ?"
    " ORDER BY received_at DESC, id DESC LIMIT ?",
    "in_newest": "SELECT * FROM messages WHERE received_at >= ? ORDER BY id DESC LIMIT ?",
    "in_after": "SELECT * FROM messages WHERE id > ? ORDER BY id LIMIT ?",
    "out_by_phone": "SELECT * FROM outbox WHERE phone = ? AND created_at >= ?"
    " ORDER BY created_at DESC, id DESC LIMIT ?",
    "out_newest": "SELECT * FROM outbox WHERE created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?",
    "out_after": "SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
    "replies_to": "SELECT * FROM outbox WHERE phone = ? AND message_id = ? ORDER BY id",
    "reply_ids": "SELECT message_id, id FROM outbox WHERE phone IN ({phones}) AND message_id IN ({ids})",
    "messages_by_id": "SELECT * FROM messages WHERE id IN ({marks})",
    "parts": "SELECT * FROM outbox_parts WHERE outbox_id = ? ORDER BY part, id",
    "phone_tickets": "SELECT * FROM tickets WHERE phone = ? ORDER BY received_at, seq LIMIT ?",
    "tickets_by_id": "SELECT * FROM tickets WHERE id IN ({marks})",
    "high_water": "SELECT (SELECT COALESCE(MAX(id), 0) FROM messages), (SELECT COALESCE(MAX(id), 0) FROM outbox)",
    "opted_out": "SELECT opted_out FROM customers WHERE phone = ?",
}
EPOCH = ""  # sorts before every stored timestamp: "since the beginning"


@dataclass(frozen=True)
class SentPart:
    """One part of an outbox row as it went on air, and what its delivery report said."""

    id: int
    outbox_id: int
    part: int
    modem_id: str
    reference: int  # the modem's +CMGS reference; -1 when +CMGS never came
    sent_at: str
    status: str  # sent | pending | delivered | failed | superseded
    report: int | None  # TP-ST of the last report
    reported_at: str | None


class ThreadsMixin(StoreBase):
    async def messages_in(
        self, *, phone: str | None = None, since: str | None = None, limit: int = 50
    ) -> list[MessageRow]:
        """The newest ``limit`` messages received (from ``phone``, since ``since``), newest first."""
        if phone is not None:
            return await self._fetch(MessageRow, SQL["in_by_phone"], (phone, since or EPOCH, limit))
        return await self._fetch(MessageRow, SQL["in_newest"], (since or EPOCH, limit))

    async def messages_out(
        self, *, phone: str | None = None, since: str | None = None, limit: int = 50
    ) -> list[OutboxRow]:
        """The newest ``limit`` outbox rows (to ``phone``, queued since ``since``), newest first."""
        if phone is not None:
            return await self._fetch(OutboxRow, SQL["out_by_phone"], (phone, since or EPOCH, limit))
        return await self._fetch(OutboxRow, SQL["out_newest"], (since or EPOCH, limit))

    async def messages_after(
        self, message_id: int, outbox_id: int, limit: int = 500
    ) -> tuple[list[MessageRow], list[OutboxRow]]:
        """Rows written after these ids (``--follow``), oldest first."""
        inbound = await self._fetch(MessageRow, SQL["in_after"], (message_id, limit))
        outbound = await self._fetch(OutboxRow, SQL["out_after"], (outbox_id, limit))
        return inbound, outbound

    async def high_water(self) -> tuple[int, int]:
        """The highest message id and outbox id so far."""
        async with self._r.execute(SQL["high_water"]) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def message(self, message_id: int) -> MessageRow | None:
        async with self._r.execute("SELECT * FROM messages WHERE id = ?", (message_id,)) as cur:
            return _row(MessageRow, await cur.fetchone())

    async def outbox_row(self, outbox_id: int) -> tuple[OutboxRow, str | None] | None:
        """The outbox row and when it was delivered (all its parts reported delivered)."""
        async with self._r.execute("SELECT * FROM outbox WHERE id = ?", (outbox_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        found = _row(OutboxRow, row)
        assert found is not None
        return found, row["delivered_at"]

    async def replies_to(self, message: MessageRow) -> list[OutboxRow]:
        """The outbox rows that answered this message."""
        if message.phone is None:
            return []
        return await self._fetch(OutboxRow, SQL["replies_to"], (message.phone, message.id))

    async def reply_ids(self, messages: Sequence[MessageRow]) -> dict[int, list[int]]:
        """For each of these messages, the ids of the outbox rows that answered it, oldest first."""
        phones = sorted({m.phone for m in messages if m.phone})
        ids = sorted({m.id for m in messages if m.phone})
        if not ids:
            return {}
        sql = SQL["reply_ids"].format(phones=_marks(phones), ids=_marks(ids))
        async with self._r.execute(sql, (*phones, *ids)) as cur:
            rows = sorted((int(r[0]), int(r[1])) for r in await cur.fetchall())
        out: dict[int, list[int]] = {}
        for message_id, outbox_id in rows:
            out.setdefault(message_id, []).append(outbox_id)
        return out

    async def messages_by_id(self, ids: Sequence[int]) -> list[MessageRow]:
        if not ids:
            return []
        return await self._fetch(MessageRow, SQL["messages_by_id"].format(marks=_marks(ids)), ids)

    async def sent_parts(self, outbox_id: int) -> list[SentPart]:
        return await self._fetch(SentPart, SQL["parts"], (outbox_id,))

    async def phone_tickets(self, phone: str, limit: int = 500) -> list[TicketRow]:
        """The tickets ``phone`` opened, oldest first."""
        return await self._fetch(TicketRow, SQL["phone_tickets"], (phone, limit))

    async def tickets_by_id(self, ids: Sequence[str]) -> dict[str, TicketRow]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        found = await self._fetch(TicketRow, SQL["tickets_by_id"].format(marks=_marks(wanted)), wanted)
        return {t.id: t for t in found}

    async def opted_out(self, phone: str) -> bool:
        """The phone sent STOP (and no START since): no broadcasts go to it."""
        async with self._r.execute(SQL["opted_out"], (phone,)) as cur:
            row = await cur.fetchone()
        return bool(row and row[0])

    async def _fetch(self, cls: type[T], sql: str, params: Sequence[object]) -> list[T]:
        async with self._r.execute(sql, params) as cur:
            return _rows(cls, await cur.fetchall())


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)
