"""A message by hand into the outbox, at most once per idempotency key.

:meth:`IdempotencyMixin.send_once` queues one notification and, in the same transaction,
keeps the answer the caller gives it under the caller's key (``POST /api/v1/messages`` with
``Idempotency-Key``): a crash can never leave a queued row without its key, nor a key without
its row, so a retried request is answered from the key and never queues twice. The same key
again returns what was kept (the caller compares the request's fingerprint: another request
under a used key is the caller's to refuse). Keys are kept :data:`KEEP` and purged, oldest
first, by the inserts that come after (:data:`PURGE_EVERY`).

The recipient's opt-out is read in that transaction too: a number that sent STOP is refused
(:class:`OptedOut`) before anything is written. Each queued message is in the audit log
(``message.queued``), by the actor the caller names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from gateway.exceptions import OptedOut
from gateway.store import audit
from gateway.store.base import StoreBase, _row, stamp, utcnow
from gateway.store.outbox import insert_outbox
from gateway.store.rows import OutboxRow
from gateway.store.rows_access import Actor

KEEP = timedelta(hours=24)  # a key is kept at least this long (a client retries within minutes)
PURGE_EVERY = 600.0  # seconds (monotonic) between purges of expired keys by one process
PURGE_BATCH = 1000  # keys deleted by one purge (in the queueing transaction: kept short)
OPTED_OUT = (
    "the number opted out (it sent STOP): nothing was queued; "
    "if the customer asked to hear from us again, remove the opt-out first (gateway optouts remove)"
)


@dataclass(frozen=True)
class Answer:
    """What the first request under a key was answered: its HTTP status and JSON body."""

    status: int
    body: str
    request: str  # the fingerprint of that request
    outbox_id: int | None
    replayed: bool  # True: kept from an earlier request, nothing queued now


@dataclass(frozen=True)
class Key:
    """An idempotency key as its owner (``kind:name``, who sent it) and the key itself."""

    owner: str
    key: str


class IdempotencyMixin(StoreBase):
    _keys_purged_at: float | None = None

    async def send_once(
        self,
        phone: str,
        text: str,
        *,
        actor: Actor,
        answer: Callable[[OutboxRow], tuple[int, str]],
        key: Key | None = None,
        request: str = "",
        now: datetime | None = None,
    ) -> Answer:
        """Queue ``text`` to ``phone`` in the notification lane, unless ``key`` was used: then
        the answer kept for it (``replayed``). ``answer`` makes the status and body to keep from
        the queued row. Raises :class:`OptedOut` (nothing written) when ``phone`` sent STOP."""
        at = stamp(now)
        async with self._write() as db:
            if key is not None:
                async with db.execute(
                    "SELECT request, status, body, outbox_id FROM idempotency_keys WHERE owner = ? AND key = ?",
                    (key.owner, key.key),
                ) as cur:
                    kept = await cur.fetchone()
                if kept is not None:
                    return Answer(int(kept[1]), str(kept[2]), str(kept[0]), kept[3], replayed=True)
            async with db.execute("SELECT 1 FROM customers WHERE phone = ? AND opted_out = 1", (phone,)) as cur:
                if await cur.fetchone() is not None:
                    raise OptedOut(OPTED_OUT)
            row_id = await insert_outbox(db, phone, text, "notification", at)
            async with db.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)) as cur:
                row = _row(OutboxRow, await cur.fetchone())
            assert row is not None
            status, body = answer(row)
            if key is not None:
                await db.execute(
                    """INSERT INTO idempotency_keys (owner, key, request, status, body, outbox_id, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (key.owner, key.key, request, status, body, row_id, at),
                )
                await self._purge_keys(db, now)
            detail = {"lane": "notification", "parts": row.parts, **({"idempotency_key": key.key} if key else {})}
            await audit.record(db, actor, "message.queued", f"out-{row_id}", detail, now=now)
        return Answer(status, body, request, row_id, replayed=False)

    async def _purge_keys(self, db: aiosqlite.Connection, now: datetime | None) -> None:
        """Delete keys older than :data:`KEEP`, at most every :data:`PURGE_EVERY` seconds."""
        clock = time.monotonic()
        if self._keys_purged_at is not None and clock - self._keys_purged_at < PURGE_EVERY:
            return
        self._keys_purged_at = clock
        cutoff = stamp((now or utcnow()) - KEEP)
        await db.execute(
            """DELETE FROM idempotency_keys WHERE rowid IN (
                   SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)""",
            (cutoff, PURGE_BATCH),
        )

    async def kept_answer(self, key: Key) -> Answer | None:
        """The answer kept under ``key``, if it was used (and not yet purged)."""
        async with self._r.execute(
            "SELECT request, status, body, outbox_id FROM idempotency_keys WHERE owner = ? AND key = ?",
            (key.owner, key.key),
        ) as cur:
            kept = await cur.fetchone()
        return None if kept is None else Answer(int(kept[1]), str(kept[2]), str(kept[0]), kept[3], replayed=True)

    async def idempotency_keys(self) -> int:
        """How many keys are kept (for the tests and ``gateway stats``)."""
        async with self._r.execute("SELECT COUNT(*) FROM idempotency_keys") as cur:
            found = await cur.fetchone()
        return int(found[0]) if found else 0
