"""The outbox: queue, claim, and what became of each send."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime

import aiosqlite

from sim_bank.pdu import count_parts

from ..exceptions import StoreError
from .base import LANES, StoreBase, _rows, iso, stamp
from .rows import OutboxRow


class OutboxMixin(StoreBase):
    async def enqueue(
        self,
        phone: str,
        text: str,
        *,
        lane: str = "notification",
        modem_hint: str | None = None,
        ticket_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        if lane not in LANES:
            raise StoreError(f"unknown lane {lane!r}")
        async with self._write() as db:
            return await insert_outbox(db, phone, text, lane, stamp(now), modem_hint=modem_hint, ticket_id=ticket_id)

    async def claim(
        self,
        assign: Callable[[list[OutboxRow]], dict[int, str]],
        now: datetime | None = None,
        lookahead: int = 200,
    ) -> list[OutboxRow]:
        """Take queued rows for sending: ``assign`` picks rows and their modems (pure, see dispatcher)."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """SELECT * FROM outbox WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
                   ORDER BY priority, id LIMIT ?""",
                (at, lookahead),
            ) as cur:
                candidates = _rows(OutboxRow, await cur.fetchall())
            plan = assign(candidates) if candidates else {}
            claimed = []
            for row in candidates:
                modem = plan.get(row.id)
                if modem is None:
                    continue
                # parts already on air only join the rest when sent from the same SIM
                await db.execute(
                    """UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1,
                           parts_sent = CASE WHEN modem_id = ? THEN parts_sent ELSE 0 END, modem_id = ?
                       WHERE id = ? AND status = 'queued'""",
                    (at, modem, modem, row.id),
                )
                claimed.append(_claimed(row, modem, at))
        return claimed

    async def mark_sent(
        self, row_id: int, modem_id: str, refs: Sequence[int], parts: int, now: datetime | None = None
    ) -> None:
        async with self._write() as db:
            await db.execute(
                """UPDATE outbox SET status = 'sent', modem_id = ?, refs = ?, parts_sent = ?, sent_at = ?,
                       last_error = NULL
                   WHERE id = ?""",
                (modem_id, ",".join(map(str, refs)), parts, stamp(now), row_id),
            )

    async def mark_retry(
        self, row_id: int, error: str, retry_at: datetime | None, parts_sent: int, refs: Sequence[int] = ()
    ) -> None:
        """A temporary failure: back in the queue (at ``retry_at``), free to go out on another SIM;
        parts already on air are remembered (they tie the rest to the SIM that sent them)."""
        async with self._write() as db:
            await db.execute(
                """UPDATE outbox SET status = 'queued', last_error = ?, next_attempt_at = ?, parts_sent = ?,
                       modem_hint = NULL,
                       refs = CASE WHEN ? = '' THEN refs ELSE COALESCE(refs || ',', '') || ? END
                   WHERE id = ?""",
                (error, iso(retry_at), parts_sent, ",".join(map(str, refs)), ",".join(map(str, refs)), row_id),
            )

    async def mark_unclaimed(self, row_id: int) -> None:
        """The modem was gone before anything was written: no attempt is counted."""
        async with self._write() as db:
            await db.execute(
                """UPDATE outbox SET status = 'queued', attempts = MAX(attempts - 1, 0)
                   WHERE id = ? AND status = 'sending'""",
                (row_id,),
            )

    async def mark_final(self, row_id: int, status: str, error: str) -> None:
        """``failed`` (the message cannot be sent) or ``unknown`` (it may have gone out: never resent blindly)."""
        assert status in ("failed", "unknown")
        async with self._write() as db:
            await db.execute("UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error, row_id))

    async def recover(self) -> int:
        """At start-up: rows a crash left ``sending`` go back to the queue (they may go out twice)."""
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'queued', last_error = 'interrupted by a restart' WHERE status = 'sending'"
            )
            return cur.rowcount

    async def next_retry_at(self, after: datetime | None = None) -> datetime | None:
        """When the next queued row waiting for a retry falls due (after ``after``, default now)."""
        async with self._r.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued' AND next_attempt_at > ?",
            (stamp(after),),
        ) as cur:
            row = await cur.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def outbox(self, status: str | None = None, limit: int = 50, ticket_id: str | None = None) -> list[OutboxRow]:
        return await self._select(OutboxRow, "outbox", {"status": status, "ticket_id": ticket_id}, "id DESC", limit)


def _claimed(row: OutboxRow, modem: str, at: str) -> OutboxRow:
    values = {f.name: getattr(row, f.name) for f in fields(OutboxRow)}
    values.update(
        status="sending",
        modem_id=modem,
        claimed_at=at,
        attempts=row.attempts + 1,
        parts_sent=row.parts_sent if row.modem_id == modem else 0,
    )
    return OutboxRow(**values)


async def insert_outbox(
    db: aiosqlite.Connection,
    phone: str,
    text: str,
    lane: str,
    at: str,
    *,
    modem_hint: str | None = None,
    ticket_id: str | None = None,
    message_id: int | None = None,
) -> int:
    cur = await db.execute(
        """INSERT INTO outbox (phone, text, lane, priority, parts, modem_hint, ticket_id, message_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (phone, text, lane, LANES[lane], count_parts(text), modem_hint, ticket_id, message_id, at),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]
