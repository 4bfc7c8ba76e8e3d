"""CRM sync state: the ticket queue, batches in flight, cursor, link state, the sync lease.

A batch is written before it is sent and deleted in the same transaction that
applies the CRM's answer, so a crash anywhere in between re-sends the same bytes
under the same ``Idempotency-Key`` and the CRM answers ``duplicate``: it holds
each ticket once. A syncer takes its batch in the transaction that checks and
extends its lease, so no batch goes out from a syncer that lost the lease. The
pull cursor moves in the transaction that applies the updates it covers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.exceptions import GatewayError
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.desk import CRM_ACTOR, insert_history
from gateway.store.outbox import insert_outbox
from gateway.store.rows import BatchRow, LeaseTerms, PushResult, StatusUpdate, UpdatesApplied
from gateway.store.rows_tickets import TicketRow

SYNC_STATES = ("queued", "synced", "rejected")
LEASE_KEYS = ("lease_holder", "lease_until", "lease_until_mono")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class LeaseTaken(GatewayError):
    """Another syncer holds the sync lease (it runs and its lease has not expired)."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"the sync lease is held by {holder}")
        self.holder = holder


class SyncMixin(StoreBase):
    # ------------------------------------------------------------------ push queue

    async def sync_counts(self) -> dict[str, Any]:
        """Tickets per sync state and the oldest queued ticket's time."""
        async with self._r.execute("SELECT sync_status, COUNT(*) FROM tickets GROUP BY sync_status") as cur:
            counts = {str(k): int(v) for k, v in await cur.fetchall()}
        async with self._r.execute(
            "SELECT MIN(received_at) FROM tickets WHERE sync_status = 'queued'"
        ) as cur:  # fmt: skip
            (oldest,) = await cur.fetchone() or (None,)
        async with self._r.execute("SELECT COUNT(*) FROM sync_batches") as cur:
            (batches,) = await cur.fetchone() or (0,)
        return {**{s: counts.get(s, 0) for s in SYNC_STATES}, "oldest_queued": oldest, "batches_in_flight": batches}

    async def has_queued_tickets(self) -> bool:
        async with self._r.execute("SELECT EXISTS (SELECT 1 FROM tickets WHERE sync_status = 'queued')") as cur:
            return bool((await cur.fetchone() or (0,))[0])

    async def next_batch(
        self,
        new_id: Callable[[], str],
        size: int,
        body: Callable[[str, list[TicketRow]], bytes],
        *,
        lease: LeaseTerms | None = None,
    ) -> BatchRow | None:
        """The batch to send: the oldest one in flight (sent before, answer not applied), else a
        new one of the ``size`` oldest queued tickets, written down before it is sent. With
        ``lease``, in the same transaction that takes or extends the sync lease for its holder
        (:class:`LeaseTaken` when another syncer has it): two syncers never send one batch."""
        if lease is None:
            async with self._r.execute("SELECT * FROM sync_batches ORDER BY first_seq, rowid LIMIT 1") as cur:
                row = await cur.fetchone()
            if row is not None:
                return _batch(row)
        async with self._write() as db:
            if lease is not None:
                other = await _take_lease(db, lease)
                if other is not None:
                    raise LeaseTaken(other)
            async with db.execute("SELECT * FROM sync_batches ORDER BY first_seq, rowid LIMIT 1") as cur:
                row = await cur.fetchone()
            if row is not None:
                return _batch(row)
            async with db.execute(
                "SELECT * FROM tickets WHERE sync_status = 'queued' ORDER BY seq LIMIT ?", (size,)
            ) as cur:
                tickets = _rows(TicketRow, await cur.fetchall())
            if not tickets:
                return None
            batch_id = new_id()
            return await _insert_batch(db, batch_id, tickets, body(batch_id, tickets))

    async def batch_failed(self, batch_id: str, error: str) -> None:
        """The batch stays in flight, to be sent again as it is."""
        async with self._write() as db:
            await db.execute(
                "UPDATE sync_batches SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, batch_id)
            )

    async def apply_batch(self, batch: BatchRow, results: Sequence[PushResult], now: datetime | None = None) -> int:
        """The CRM's answer, in one transaction with the batch's removal. ``accepted`` and
        ``duplicate`` mark a ticket synced -- unless a repeat arrived after the batch was
        written (then it goes again with the new count); ``rejected`` takes it out of the
        queue with the CRM's reason. Tickets the answer did not mention stay queued.
        Returns how many tickets the answer settled."""
        at = stamp(now)
        pushed = dict(batch.tickets)
        mine = [r for r in results if r.id in pushed]
        synced = [(at, r.crm_id, r.id, pushed[r.id]) for r in mine if r.synced]
        rejected = [(r.error, r.id) for r in mine if not r.synced]
        settled = 0
        async with self._write() as db:
            if synced:
                cur = await db.executemany(
                    """UPDATE tickets SET sync_status = 'synced', synced_at = ?, crm_id = COALESCE(?, crm_id),
                           sync_error = NULL
                       WHERE id = ? AND sync_status = 'queued' AND repeat_count = ?""",
                    synced,
                )
                settled += cur.rowcount
            if rejected:
                cur = await db.executemany(
                    """UPDATE tickets SET sync_status = 'rejected', sync_error = ?
                       WHERE id = ? AND sync_status = 'queued'""",
                    rejected,
                )
                settled += cur.rowcount
            await db.execute("DELETE FROM sync_batches WHERE id = ?", (batch.id,))
        return settled

    async def split_batch(
        self, batch: BatchRow, new_id: Callable[[], str], body: Callable[[str, list[TicketRow]], bytes]
    ) -> list[BatchRow]:
        """Replace a batch the CRM refused as a whole by its two halves, in order, each with a
        new id (a different body must not reuse an Idempotency-Key)."""
        ids = batch.ids
        halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
        out: list[BatchRow] = []
        async with self._write() as db:
            await db.execute("DELETE FROM sync_batches WHERE id = ?", (batch.id,))
            for half in halves:
                marks = ", ".join("?" for _ in half)
                async with db.execute(
                    f"SELECT * FROM tickets WHERE id IN ({marks}) AND sync_status = 'queued' ORDER BY seq", half
                ) as cur:
                    tickets = _rows(TicketRow, await cur.fetchall())
                if tickets:
                    batch_id = new_id()
                    out.append(await _insert_batch(db, batch_id, tickets, body(batch_id, tickets)))
        return out

    async def retry_rejected(self, refs_or_ids: Sequence[str] = ()) -> int:
        """Put rejected tickets (all, or the ones named) back in the queue."""
        async with self._write() as db:
            if refs_or_ids:
                marks = ", ".join("?" for _ in refs_or_ids)
                cur = await db.execute(
                    f"""UPDATE tickets SET sync_status = 'queued', sync_error = NULL
                        WHERE sync_status = 'rejected' AND (ref IN ({marks}) OR id IN ({marks}))""",
                    [*refs_or_ids, *refs_or_ids],
                )
            else:
                cur = await db.execute(
                    "UPDATE tickets SET sync_status = 'queued', sync_error = NULL WHERE sync_status = 'rejected'"
                )
            return cur.rowcount

    # ------------------------------------------------------------------ pull

    async def apply_updates(
        self,
        updates: Sequence[StatusUpdate],
        notice: Callable[[TicketRow, StatusUpdate], str | None],
        *,
        state: dict[str, str | None],
        now: datetime | None = None,
        overruled: Callable[[StatusUpdate, str | None], bool] | None = None,
    ) -> UpdatesApplied:
        """Apply some of the CRM's status changes, queue the SMS that tell customers (``notice``
        composes it), keep each in the ticket's history (by ``crm``), and write ``state`` (where the
        pull now stands) -- all in one
        transaction. The caller keeps each call short (a chunk of a page): intake waits for
        the same writer. An update ``overruled`` by the desk's own last status change (given when
        the desk made it) changes nothing and tells nobody: it is kept in the history as the
        CRM's note."""
        at = stamp(now)
        applied = unknown = superseded = 0
        notices: list[int] = []
        async with self._write() as db:
            for u in updates:
                async with db.execute("SELECT * FROM tickets WHERE id = ?", (u.id,)) as cur:
                    ticket = _row(TicketRow, await cur.fetchone())
                if ticket is None:
                    unknown += 1
                    continue
                if overruled is not None and overruled(u, await _desk_status_at(db, ticket.id)):
                    said = f"the CRM set {u.status} at {u.changed_at}" + (f" ({u.note})" if u.note else "")
                    note = f"{said}; the desk's later status {ticket.status} stands"
                    await insert_history(db, ticket.id, at, CRM_ACTOR, "note", None, None, note, None)
                    superseded += 1
                    continue
                await db.execute(
                    "UPDATE tickets SET status = ?, crm_note = ?, status_changed_at = ? WHERE id = ?",
                    (u.status, u.note, at, u.id),
                )
                applied += 1
                text = notice(ticket, u) if u.notify else None
                outbox_id = None
                if text:
                    outbox_id = await insert_outbox(
                        db, ticket.phone, text, "notification", at, modem_hint=ticket.modem, ticket_id=ticket.id
                    )
                    notices.append(outbox_id)
                # in the ticket's history beside the desk's own changes
                await insert_history(db, ticket.id, at, CRM_ACTOR, "status", ticket.status, u.status, u.note, outbox_id)
            await _put(db, state)
        return UpdatesApplied(applied, unknown, tuple(notices), superseded)

    async def sync_lease_holder(self, alive: Callable[[str], bool], now: datetime, monotonic: float) -> str | None:
        """Who holds the sync lease at ``now``/``monotonic`` (the asker's clocks; it runs and
        they are ``alive``), or None."""
        marks = ", ".join("?" for _ in LEASE_KEYS)
        async with self._r.execute(f"SELECT key, value FROM sync_state WHERE key IN ({marks})", LEASE_KEYS) as cur:
            state = {str(k): str(v) for k, v in await cur.fetchall() if v is not None}
        holder = state.get("lease_holder")
        if holder and _lease_runs(state, now, monotonic) and alive(holder):
            return holder
        return None

    # ------------------------------------------------------------------ state and lease

    async def sync_state(self) -> dict[str, str]:
        async with self._r.execute("SELECT key, value FROM sync_state") as cur:
            return {str(k): str(v) for k, v in await cur.fetchall() if v is not None}

    async def set_sync_state(self, **values: str | None) -> None:
        async with self._write() as db:
            await _put(db, values)

    async def take_sync_lease(
        self,
        holder: str,
        ttl: float,
        alive: Callable[[str], bool],
        now: datetime,
        monotonic: float,
    ) -> str | None:
        """Hold the right to sync (one syncer per database) for ``ttl`` seconds from ``now``/
        ``monotonic`` (the asker's clocks). Returns None when taken or renewed, else the current
        holder (whose lease runs and who is ``alive``)."""
        async with self._write() as db:
            return await _take_lease(db, LeaseTerms(holder, ttl, alive, now, monotonic))

    async def release_sync_lease(self, holder: str) -> None:
        async with self._write() as db:
            async with db.execute("SELECT value FROM sync_state WHERE key = 'lease_holder'") as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == holder:
                await db.execute("DELETE FROM sync_state WHERE key IN (?, ?, ?)", LEASE_KEYS)


async def _desk_status_at(db: Any, ticket_id: str) -> str | None:
    """When the desk (not the CRM) last changed the ticket's status, if it ever did."""
    async with db.execute(
        "SELECT MAX(at) FROM ticket_history WHERE ticket_id = ? AND action = 'status' AND actor != ?",
        (ticket_id, CRM_ACTOR),
    ) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row is not None and row[0] is not None else None


async def _take_lease(db: Any, lease: LeaseTerms) -> str | None:
    at, mono = lease.now, lease.monotonic
    async with db.execute("SELECT key, value FROM sync_state WHERE key IN (?, ?, ?)", LEASE_KEYS) as cur:
        state = {str(k): str(v) for k, v in await cur.fetchall() if v is not None}
    current = state.get("lease_holder")
    if current and current != lease.holder and _lease_runs(state, at, mono) and lease.alive(current):
        return current
    await _put(
        db,
        {
            "lease_holder": lease.holder,
            "lease_until": stamp(at + timedelta(seconds=lease.ttl)),
            "lease_until_mono": f"{_boot_id()} {mono + lease.ttl:.3f}",
        },
    )
    return None


def _lease_runs(state: dict[str, str], at: datetime, mono: float) -> bool:
    """Whether the lease in ``state`` has time left: on the monotonic clock when it was taken
    during this boot, else (another boot, an older gateway) on the wall clock."""
    boot, _, until = state.get("lease_until_mono", "").partition(" ")
    if until and boot == _boot_id():
        try:
            return mono < float(until)
        except ValueError:
            pass
    return state.get("lease_until", "") > stamp(at)


def _boot_id() -> str:
    """This boot of the machine (the monotonic clock restarts with it); "" where unknown."""
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


async def _put(db: Any, values: dict[str, str | None]) -> None:
    await db.executemany(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


async def _insert_batch(db: Any, batch_id: str, tickets: list[TicketRow], body: bytes) -> BatchRow:
    pairs = [(t.id, t.repeat_count) for t in tickets]
    created = stamp()
    await db.execute(
        "INSERT INTO sync_batches (id, ticket_ids, body, first_seq, created_at) VALUES (?, ?, ?, ?, ?)",
        (batch_id, json.dumps(pairs), body, tickets[0].seq, created),
    )
    return BatchRow(batch_id, tuple(pairs), body, 0, None, created)


def _batch(row: Any) -> BatchRow:
    pairs = tuple((str(t), int(n)) for t, n in json.loads(row["ticket_ids"]))
    return BatchRow(row["id"], pairs, bytes(row["body"]), row["attempts"], row["last_error"], row["created_at"])
