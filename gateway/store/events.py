"""The event journal: what happened, written in the same transaction as the change it reports.

Each event is one row (one INSERT in the writer's open transaction, nothing more on the hot
path): ``{"id": EVENT_ID, "type": ..., "created_at": ..., "data": {...}}``. ``data`` uses the
CLI's ``--json`` field names: a ticket as :meth:`TicketRow.as_json`, an outbox row as
:meth:`OutboxRow.as_json`, a SIM as ``gateway modems --json``. Event ids are the site id and
a ULID, as ticket ids are (unique across sites); ``seq`` orders them within this database.
Webhooks (:mod:`gateway.store.webhooks`) and the event stream read it in ``seq`` order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite

from gateway.store.base import StoreBase
from gateway.store.rows import OUTBOX_FIELDS, MessageRow, Outcome
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


def _json_object(fields: Sequence[str], alias: str = "") -> str:
    """SQLite's ``json_object(...)`` of these columns: the row's ``--json`` built where it lies."""
    return "json_object(" + ", ".join(f"'{f}', {alias}{f}" for f in fields) + ")"


_OUTBOX_JSON = _json_object(OUTBOX_FIELDS)
_TICKET_JSON = _json_object(TicketRow.JSON_FIELDS)


async def journal_outbox(db: aiosqlite.Connection, site: str, kind: str, outbox_id: int, at: str) -> None:
    """``message.sent|delivered|failed``: the outbox row as it now stands (one INSERT ... SELECT)."""
    await db.execute(
        f"INSERT INTO events (id, type, created_at, data) SELECT ?, ?, ?, {_OUTBOX_JSON} FROM outbox WHERE id = ?",
        (event_id(site), kind, at, outbox_id),
    )


async def journal_ticket_change(db: aiosqlite.Connection, change: HistoryRow) -> None:
    """``ticket.updated``: the ticket as it now stands, its assignee, and the ``change`` (its
    history row as ``tickets show --json`` has it), in one INSERT ... SELECT; the id carries
    the ticket's site."""
    from ulid import ULID

    await db.execute(
        f"""INSERT INTO events (id, type, created_at, data)
            SELECT site || '-' || ?, 'ticket.updated', ?,
                   {_TICKET_JSON[:-1]}, 'assigned_to', assigned_to, 'change', json(?))
            FROM tickets WHERE id = ?""",
        (str(ULID()), change.at, _dumps(change.as_json()), change.ticket_id),
    )


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

    async def last_event_seq(self) -> int:
        async with self._r.execute("SELECT COALESCE(MAX(seq), 0) FROM events") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
