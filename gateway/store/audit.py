"""The audit log: every write by a person or a system, with who, what, to what, when and from
where -- written by :func:`record` inside the transaction of the write it records, so a write
and its entry are committed together or not at all.

Any store function that writes for someone calls it with the connection of its own
``_write()`` block::

    async with self._write() as db:
        ... the change ...
        await audit.record(db, actor, "ticket.assigned", ref, {"to": user}, now=now)

``detail`` is a small JSON object of what changed; never a password, a token or a hash.

Writers that know only the acting name (the desk's store functions take ``actor: str``) ask
:func:`acting` for the whole :class:`Actor`: a local account at the command line, unless the
face has said otherwise for the request it serves (``with on_behalf("user", "10.0.0.7"):``,
a context variable, so concurrent requests of one API process do not mix).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiosqlite

from gateway.store.base import StoreBase, _rows, stamp
from gateway.store.rows_access import ACTOR_KINDS, LOCAL_ADDRESS, Actor, AuditRow
from gateway.store.rows_tickets import HistoryRow

_ON_BEHALF: ContextVar[tuple[str, str]] = ContextVar("audit_on_behalf", default=("local", LOCAL_ADDRESS))


@contextmanager
def on_behalf(kind: str, address: str) -> Iterator[None]:
    """Within the block, writes that name only their actor are by a ``kind`` (``user`` or
    ``token``) from ``address``: what the API sets around each request it serves."""
    if kind not in ACTOR_KINDS:
        raise ValueError(f"actor kind {kind!r}: one of {', '.join(ACTOR_KINDS)}")
    reset = _ON_BEHALF.set((kind, address))
    try:
        yield
    finally:
        _ON_BEHALF.reset(reset)


def behalf_of_request(kind: str, address: str) -> None:
    """:func:`on_behalf` for the rest of the current task, with no block to leave: for a face
    whose every request runs in a task of its own (the API on uvicorn), so it ends with it."""
    if kind not in ACTOR_KINDS:
        raise ValueError(f"actor kind {kind!r}: one of {', '.join(ACTOR_KINDS)}")
    _ON_BEHALF.set((kind, address))


def acting(name: str) -> Actor:
    """The :class:`Actor` called ``name``: a local account, unless :func:`on_behalf` says otherwise."""
    kind, address = _ON_BEHALF.get()
    return Actor(name, kind, address)


async def record(
    db: aiosqlite.Connection,
    actor: Actor,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Add one entry to the audit log on ``db``, inside the caller's transaction."""
    if actor.kind not in ACTOR_KINDS:
        raise ValueError(f"actor kind {actor.kind!r}: one of {', '.join(ACTOR_KINDS)}")
    await db.execute(
        """INSERT INTO audit_log (at, actor, actor_kind, action, target, detail, address)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (
            stamp(now),
            actor.name,
            actor.kind,
            action,
            target,
            json.dumps(dict(detail), ensure_ascii=False, sort_keys=True) if detail else None,
            actor.address,
        ),
    )


class AuditMixin(StoreBase):
    async def note_audit(
        self, actor: str, action: str, target: str | None = None, detail: Mapping[str, Any] | None = None,
        *, now: datetime | None = None,
    ) -> None:  # fmt: skip
        """One audit entry in a transaction of its own, for a write made of many transactions
        (a contacts import: one entry with its counts once it is done)."""
        async with self._write() as db:
            await record(db, acting(actor), action, target, detail, now=now)

    async def audit_entries(
        self, *, since: datetime | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditRow]:
        """The newest ``limit`` entries (newest first), at or after ``since``, by ``actor``."""
        where, args = ["1 = 1"], []
        if since is not None:
            where.append("at >= ?")
            args.append(stamp(since))
        if actor is not None:
            where.append("actor = ?")
            args.append(actor)
        sql = f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"  # values bound
        async with self._r.execute(sql, (*args, limit)) as cur:
            return _rows(AuditRow, await cur.fetchall())


# a ticket_history row's action, as the audit log names it
TICKET_ACTIONS = {
    "status": "ticket.status_changed",
    "note": "ticket.noted",
    "assign": "ticket.assigned",
    "reply": "ticket.replied",
}


async def record_ticket_change(db: aiosqlite.Connection, row: HistoryRow) -> None:
    """The audit entry of a person's change to a ticket (its history row), in its transaction:
    the ticket's ref as the target; from, to and the SMS queued with it as the detail (the note's
    words stay in the ticket's history)."""
    async with db.execute("SELECT ref FROM tickets WHERE id = ?", (row.ticket_id,)) as cur:
        found = await cur.fetchone()
    detail = {"history_id": row.id, "from": row.old_value, "to": row.new_value, "outbox_id": row.outbox_id}
    await record(
        db,
        acting(row.actor),
        TICKET_ACTIONS.get(row.action, f"ticket.{row.action}"),
        str(found[0]) if found else row.ticket_id,
        {k: v for k, v in detail.items() if v is not None},
        now=datetime.fromisoformat(row.at),
    )
