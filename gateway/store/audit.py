"""The audit log: every write by a person or a system, with who, what, to what, when and from
where -- written by :func:`record` inside the transaction of the write it records, so a write
and its entry are committed together or not at all.

Any store function that writes for someone calls it with the connection of its own
``_write()`` block::

    async with self._write() as db:
        ... the change ...
        await audit.record(db, actor, "ticket.assigned", ref, {"to": user}, now=now)

``detail`` is a small JSON object of what changed; never a password, a token or a hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiosqlite

from gateway.store.base import StoreBase, _rows, stamp
from gateway.store.rows_access import ACTOR_KINDS, Actor, AuditRow


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
