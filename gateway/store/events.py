"""The event journal: what happened, written in the same transaction as the change it reports.

Each event is one row (one INSERT in the writer's open transaction, nothing more on the hot
path): ``{"id": EVENT_ID, "type": ..., "created_at": ..., "data": {...}}``. ``data`` uses the
CLI's ``--json`` field names: a ticket as :meth:`TicketRow.as_json`, an outbox row as
:meth:`OutboxRow.as_json`, a SIM as ``gateway modems --json`` (built here from the row, not
in SQL: the store's SQL stays what PostgreSQL also runs). Event ids are the site id and
a ULID, as ticket ids are (unique across sites); ``seq`` orders them within this database.
Webhooks (:mod:`gateway.store.webhooks`) and the event stream read it in ``seq`` order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite

from gateway.store.base import StoreBase, _row
from gateway.store.rows import MessageRow, OutboxRow, Outcome
from gateway.store.rows_events import EventRow
from gateway.store.rows_tickets import HistoryRow, TicketRow

EVENT_TYPES = (
    "ticket.opened",
    "ticket.updated",
    "message.received",
    "message.sent",
    "message.delivered",
    "message.failed",
    "sim.state",
    "outage.declared",
    "outage.updated",
    "outage.restored",
    "outage.cancelled",
)

_INSERT = "INSERT INTO events (id, type, created_at, data) VALUES (?, ?, ?, ?)"


def event_id(site: str) -> str:
    """``SITE-ULID``: unique across sites, sortable by time within one."""
    from ulid import ULID  # imports importlib.metadata: only once an event is written

    return f"{site}-{ULID()}"


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


async def insert_events(
    db: aiosqlite.Connection, site: str, at: str, events: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Journal ``(type, data)`` pairs in the caller's transaction, in order."""
    rows = [(event_id(site), kind, at, _dumps(data)) for kind, data in events]
    if rows:
        await db.executemany(_INSERT, rows)


def received_json(m: MessageRow, o: Outcome, ticket_id: str | None, reply: int | None) -> dict[str, Any]:
    """``message.received``: the message as ``messages list --json`` shows it once routed."""
    return {
        "id": f"in-{m.id}", "at": m.received_at, "direction": "in", "message_id": m.id, "phone": o.phone,
        "sender": m.sender, "modem": m.modem_id, "text": m.text, "parts": m.parts, "complete": bool(m.complete),
        "sender_kind": o.sender_kind, "action": o.action, "language": o.language, "ticket_id": ticket_id,
        "replies": [f"out-{reply}"] if reply is not None else [],
    }  # fmt: skip


async def journal_outbox(db: aiosqlite.Connection, site: str, kind: str, outbox_id: int, at: str) -> None:
    """``message.sent|delivered|failed``: the outbox row as it now stands, as ``outbox list --json``."""
    async with db.execute("SELECT * FROM outbox WHERE id = ?", (outbox_id,)) as cur:
        row = _row(OutboxRow, await cur.fetchone())
    if row is not None:
        await insert_events(db, site, at, [(kind, row.as_json())])


async def journal_ticket_change(db: aiosqlite.Connection, change: HistoryRow) -> None:
    """``ticket.updated``: the ticket as it now stands (``tickets list --json``), its assignee and
    the ``change`` (its history row as ``tickets show --json`` has it); the id carries the
    ticket's site."""
    async with db.execute("SELECT * FROM tickets WHERE id = ?", (change.ticket_id,)) as cur:
        ticket = _row(TicketRow, await cur.fetchone())
    if ticket is not None:
        data = {**ticket.as_json(), "assigned_to": ticket.assigned_to, "change": change.as_json()}
        await insert_events(db, ticket.site, change.at, [("ticket.updated", data)])


class EventsMixin(StoreBase):
    async def events_after(self, seq: int, types: Sequence[str] | None = None, limit: int = 100) -> list[EventRow]:
        """Events after ``seq`` (0: from the first), oldest first; only ``types`` if given."""
        where, args = "seq > ?", list[object]([seq])
        if types is not None:
            where += f" AND type IN ({', '.join('?' for _ in types)})"
            args += list(types)
        async with self._r.execute(
            f"SELECT seq, id, type, created_at, data FROM events WHERE {where} ORDER BY seq LIMIT ?", (*args, limit)
        ) as cur:
            return [EventRow(*r) for r in await cur.fetchall()]

    async def event_seq(self, event_id: str) -> int | None:
        """Where the event ``event_id`` stands in the journal (None: not here, or purged)."""
        async with self._r.execute("SELECT seq FROM events WHERE id = ?", (event_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def last_event_seq(self) -> int:
        async with self._r.execute("SELECT COALESCE(MAX(seq), 0) FROM events") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
