"""The desk's changes on their way back to the CRM (``POST /ticket-events``, protocol v1).

Every local change to a ticket is already a row of ``ticket_history`` (the desk writes it in
the transaction that makes the change); the CRM's own updates are rows there too, by
``crm``, and are never sent back. What is left to send is the local rows after a cursor:
the id of the last history row the CRM answered for, kept in ``sync_state``
(``events_cursor``) with the rows the CRM rejected (``event_rejected:ID`` = its reason)
and the rejected rows an operator queued again (``event_retry:ID``). No table of its own:
the history is the queue. Which row goes, waits or is given up on is decided by
:mod:`gateway.crm.events_protocol`; this module only reads rows and moves the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.store.base import StoreBase
from gateway.store.desk import CRM_ACTOR
from gateway.store.rows import LeaseTerms
from gateway.store.sync import LeaseTaken, _put, _take_lease

EVENT_ACTIONS = ("status", "note", "assign", "reply")
CURSOR = "events_cursor"
REJECTED = "event_rejected:"  # + history id; value: the CRM's reason
RETRY = "event_retry:"  # + history id: a rejected event queued again by an operator

_SELECT = f"""SELECT h.id, h.ticket_id, t.crm_id, h.at, h.actor, h.action, h.old_value, h.new_value, h.note,
                     o.text, t.synced_at IS NOT NULL AS held, t.sync_status, t.sync_error
              FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id LEFT JOIN outbox o ON o.id = h.outbox_id
              WHERE h.actor != '{CRM_ACTOR}' AND h.action IN ({", ".join(f"'{a}'" for a in EVENT_ACTIONS)})"""
_CURSOR_SQL = f"COALESCE((SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = '{CURSOR}'), 0)"


@dataclass(frozen=True)
class EventRow:
    """One local change to send: its history row, the ticket's state at the CRM, and for a
    reply the text that went to the customer."""

    history_id: int
    ticket_id: str
    crm_id: str | None
    at: str
    actor: str
    action: str
    old_value: str | None
    new_value: str | None
    note: str | None
    text: str | None
    held: bool  # the CRM has the ticket (it answered for it once)
    ticket_sync: str  # queued | synced | rejected
    ticket_error: str | None
    retry: bool = False  # rejected once, queued again by an operator


class TicketEventsMixin(StoreBase):
    async def next_events(self, size: int, *, lease: LeaseTerms | None = None) -> list[EventRow]:
        """The rejected events queued again, then up to ``size`` local changes after the cursor,
        each in history order. With ``lease``, in the transaction that takes or extends the sync
        lease (:class:`LeaseTaken` when another syncer has it): one pusher."""
        async with self._write() as db:
            if lease is not None:
                other = await _take_lease(db, lease)
                if other is not None:
                    raise LeaseTaken(other)
            async with db.execute(
                f"""{_SELECT} AND h.id IN (SELECT CAST(substr(key, {len(RETRY) + 1}) AS INTEGER) FROM sync_state
                                          WHERE key LIKE '{RETRY}%') ORDER BY h.id LIMIT ?""",
                (size,),
            ) as cur:
                retry = [_event(r, retry=True) for r in await cur.fetchall()]
            async with db.execute(f"{_SELECT} AND h.id > {_CURSOR_SQL} ORDER BY h.id LIMIT ?", (size,)) as cur:
                fresh = [_event(r) for r in await cur.fetchall()]
        return retry + fresh

    async def settle_events(self, rejected: Sequence[tuple[int, str]], done: Sequence[int], cursor: int | None) -> None:
        """The CRM's answers, in one transaction: ``done`` (accepted or duplicate) and
        ``rejected`` (history id, reason) leave the retry list, the rejected are kept with their
        reason, and the cursor moves on to ``cursor`` (never back)."""
        async with self._write() as db:
            ids = [*done, *(i for i, _ in rejected)]
            await db.executemany("DELETE FROM sync_state WHERE key = ?", [(f"{RETRY}{i}",) for i in ids])
            await db.executemany("DELETE FROM sync_state WHERE key = ?", [(f"{REJECTED}{i}",) for i in done])
            await _put(db, {f"{REJECTED}{i}": reason for i, reason in rejected})
            if cursor is not None:
                await db.execute(
                    f"""INSERT INTO sync_state (key, value) VALUES ('{CURSOR}', ?) ON CONFLICT (key)
                        DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))""",
                    (str(cursor),),
                )

    async def has_pending_events(self) -> bool:
        async with self._r.execute(
            f"SELECT EXISTS ({_SELECT} AND h.id > {_CURSOR_SQL}) OR EXISTS "
            f"(SELECT 1 FROM sync_state WHERE key LIKE '{RETRY}%')"
        ) as cur:
            return bool((await cur.fetchone() or (0,))[0])

    async def event_counts(self) -> dict[str, int]:
        """Local changes not yet answered for by the CRM (``events_pending``, the retried ones
        included) and the ones it rejected (``events_rejected``)."""
        async with self._r.execute(f"SELECT COUNT(*) FROM ({_SELECT} AND h.id > {_CURSOR_SQL})") as cur:
            (fresh,) = await cur.fetchone() or (0,)
        async with self._r.execute(
            f"SELECT SUM(key LIKE '{RETRY}%'), SUM(key LIKE '{REJECTED}%') FROM sync_state"
        ) as cur:  # fmt: skip
            retry, rejected = await cur.fetchone() or (0, 0)
        return {"events_pending": int(fresh) + int(retry or 0), "events_rejected": int(rejected or 0)}

    async def retry_rejected_events(self, refs_or_ids: Sequence[str] = ()) -> int:
        """The rejected events (all, or those of the tickets named) queued again."""
        async with self._write() as db:
            async with db.execute(f"SELECT key FROM sync_state WHERE key LIKE '{REJECTED}%'") as cur:
                ids = [int(str(k)[len(REJECTED) :]) for (k,) in await cur.fetchall()]
            if refs_or_ids and ids:
                marks, wanted = ", ".join("?" for _ in ids), ", ".join("?" for _ in refs_or_ids)
                async with db.execute(
                    f"""SELECT id FROM ticket_history WHERE id IN ({marks}) AND ticket_id IN
                            (SELECT id FROM tickets WHERE ref IN ({wanted}) OR id IN ({wanted}))""",
                    [*ids, *refs_or_ids, *refs_or_ids],
                ) as cur:
                    ids = [int(i) for (i,) in await cur.fetchall()]
            await db.executemany("DELETE FROM sync_state WHERE key = ?", [(f"{REJECTED}{i}",) for i in ids])
            await _put(db, {f"{RETRY}{i}": "" for i in ids})
            return len(ids)


def _event(row: Any, *, retry: bool = False) -> EventRow:
    return EventRow(
        int(row[0]), str(row[1]), row[2], str(row[3]), str(row[4]), str(row[5]), row[6], row[7], row[8], row[9],
        bool(row[10]), str(row[11]), row[12], retry,
    )  # fmt: skip
