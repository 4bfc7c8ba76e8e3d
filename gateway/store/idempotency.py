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

Sends are committed in groups: those that arrive while one group's transaction is written go
in the next (one ``BEGIN IMMEDIATE`` and one fsync for them all, :data:`BATCH` at most), and
each caller is answered only once its group is committed -- as durable as a transaction of
its own, at the rate an API under load needs (docs/BENCHMARKS.md, ``api_send``). A group
costs a fixed number of statements whatever its size (its rows, keys and audit entries are
each written with one), so the writer's lock is held briefly and the connection's thread is
asked little.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from gateway.exceptions import OptedOut, StoreError
from gateway.store.base import LANES, StoreBase, _row, stamp
from gateway.store.rows import OutboxRow
from gateway.store.rows_access import ACTOR_KINDS, Actor
from sim_bank.pdu import count_parts

KEEP = timedelta(hours=24)  # a key is kept at least this long (a client retries within minutes)
PURGE_EVERY = 600.0  # seconds (monotonic) between purges of expired keys by one process
BATCH = 200  # sends written in one transaction at most
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


@dataclass
class _Sending:
    """One send waiting for its group (:meth:`IdempotencyMixin.send_once`)."""

    phone: str
    text: str
    actor: Actor
    answer: Callable[[OutboxRow], tuple[int, str]]
    key: Key | None
    request: str
    at: str
    done: asyncio.Future[Answer]

    @property
    def ident(self) -> tuple[str, str] | None:
        return (self.key.owner, self.key.key) if self.key is not None else None


class IdempotencyMixin(StoreBase):
    _keys_purged_at: float | None = None
    _sendings: list[_Sending] | None = None
    _sender: asyncio.Task[None] | None = None

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
        the queued row. Raises :class:`OptedOut` (nothing written) when ``phone`` sent STOP.
        Returns once the send's group is committed (a caller that stops waiting stops no one else)."""
        if actor.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind {actor.kind!r}: one of {', '.join(ACTOR_KINDS)}")
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        if self._sendings is None:
            self._sendings = []
        self._sendings.append(_Sending(phone, text, actor, answer, key, request, stamp(now), done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_groups(self._sendings))
        return await asyncio.shield(done)

    async def _send_groups(self, waiting: list[_Sending]) -> None:
        """Write the waiting sends, a group at a time, until none wait."""
        while waiting:
            group = waiting[:BATCH]
            del waiting[:BATCH]
            try:
                answers = await self._write_group(group)
            except Exception as exc:  # noqa: BLE001 - rolled back: each caller of the group hears why
                answers = [exc] * len(group)
            except BaseException:  # cancelled (the store closing): the group and the waiting fail
                for sending in group + waiting:
                    _settle(sending, StoreError("the store was closed before the message was queued"))
                waiting.clear()
                raise
            for sending, answer in zip(group, answers, strict=True):
                _settle(sending, answer)

    async def _write_group(self, group: list[_Sending]) -> list[Answer | Exception]:
        """One transaction for ``group``, in order: a key used before is answered as it was (a
        key twice in the group: the second as the first), an opted-out number refused, every
        other send queued with its key and its audit entry."""
        out: list[Answer | Exception | None] = [None] * len(group)
        firsts: dict[tuple[str, str], int] = {}  # a key queued in this group: its send's place
        fresh: list[int] = []  # places in the group of the sends to queue, in order
        async with self._write() as db:
            kept = await _kept(db, [s.ident for s in group if s.ident is not None])
            stopped = await _opted_out(db, {s.phone for s in group})
            for i, sending in enumerate(group):
                ident = sending.ident
                if ident is not None and ident in kept:
                    out[i] = kept[ident]
                elif ident is not None and ident in firsts:
                    continue  # answered below, as the first
                elif sending.phone in stopped:
                    out[i] = OptedOut(OPTED_OUT)
                else:
                    fresh.append(i)
                    if ident is not None:
                        firsts[ident] = i
            rows = await _insert_rows(db, [group[i] for i in fresh])
            keys, entries = [], []
            for i, row in zip(fresh, rows, strict=True):
                sending = group[i]
                status, body = sending.answer(row)
                out[i] = Answer(status, body, sending.request, row.id, replayed=False)
                detail: dict[str, object] = {"lane": "notification", "parts": row.parts}
                if sending.key is not None:
                    keys.append((sending.key.owner, sending.key.key, sending.request, status, body, row.id, sending.at))
                    detail["idempotency_key"] = sending.key.key
                entries.append((sending.at, sending.actor, f"out-{row.id}", detail))
            if keys:
                await db.executemany(
                    """INSERT INTO idempotency_keys (owner, key, request, status, body, outbox_id, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    keys,
                )
                await self._purge_keys(db, group[0].at)
            await _audit_queued(db, entries)
        for i, sending in enumerate(group):
            if out[i] is None:  # a key's second send in this group: its first's answer, replayed
                first = out[firsts[sending.ident]] if sending.ident else None
                assert isinstance(first, Answer)
                out[i] = Answer(first.status, first.body, first.request, first.outbox_id, replayed=True)
        return [a for a in out if a is not None]

    async def _purge_keys(self, db: aiosqlite.Connection, at: str) -> None:
        """Delete keys older than :data:`KEEP`, at most every :data:`PURGE_EVERY` seconds."""
        clock = time.monotonic()
        if self._keys_purged_at is not None and clock - self._keys_purged_at < PURGE_EVERY:
            return
        self._keys_purged_at = clock
        cutoff = stamp(datetime.fromisoformat(at) - KEEP)
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


def _settle(sending: _Sending, outcome: Answer | Exception) -> None:
    if sending.done.done():
        return
    if isinstance(outcome, Exception):
        sending.done.set_exception(outcome)
    else:
        sending.done.set_result(outcome)


async def _kept(db: aiosqlite.Connection, idents: list[tuple[str, str]]) -> dict[tuple[str, str], Answer]:
    """The answers kept under any of ``idents`` (owner, key)."""
    if not idents:
        return {}
    marks = ", ".join("(?, ?)" for _ in idents)
    found = await db.execute_fetchall(
        f"""SELECT owner, key, request, status, body, outbox_id FROM idempotency_keys
            WHERE (owner, key) IN (VALUES {marks})""",
        [part for ident in idents for part in ident],
    )
    return {(r[0], r[1]): Answer(int(r[3]), str(r[4]), str(r[2]), r[5], replayed=True) for r in found}


async def _opted_out(db: aiosqlite.Connection, phones: set[str]) -> set[str]:
    marks = ", ".join("?" for _ in phones)
    found = await db.execute_fetchall(
        f"SELECT phone FROM customers WHERE opted_out = 1 AND phone IN ({marks})", sorted(phones)
    )
    return {str(r[0]) for r in found}


async def _insert_rows(db: aiosqlite.Connection, sends: list[_Sending]) -> list[OutboxRow]:
    """Queue ``sends`` (notification lane) with one statement, and read their rows back in order.

    Inside the write transaction nobody else inserts: the new rows are those after the largest
    id there was, numbered in the order they were inserted (an INTEGER PRIMARY KEY takes the
    largest + 1); each is checked against its send all the same."""
    if not sends:
        return []
    found = await db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM outbox")
    before = int(next(iter(found))[0])
    await db.executemany(
        """INSERT INTO outbox (phone, text, lane, priority, parts, created_at, status)
           VALUES (?, ?, 'notification', ?, ?, ?, 'queued')""",
        [(s.phone, s.text, LANES["notification"], count_parts(s.text), s.at) for s in sends],
    )
    made = await db.execute_fetchall("SELECT * FROM outbox WHERE id > ? ORDER BY id", (before,))
    rows = [row for r in made if (row := _row(OutboxRow, r)) is not None]
    if [(r.phone, r.text) for r in rows] != [(s.phone, s.text) for s in sends]:
        raise StoreError("the outbox rows just queued are not those asked for: nothing was queued")
    return rows


async def _audit_queued(db: aiosqlite.Connection, entries: list[tuple[str, Actor, str, dict[str, object]]]) -> None:
    """The audit entries (``message.queued``) of the sends just queued, as :func:`audit.record` writes them."""
    if not entries:
        return
    await db.executemany(
        """INSERT INTO audit_log (at, actor, actor_kind, action, target, detail, address)
           VALUES (?, ?, ?, 'message.queued', ?, ?, ?)""",
        [
            (at, actor.name, actor.kind, target, json.dumps(detail, ensure_ascii=False, sort_keys=True), actor.address)
            for at, actor, target, detail in entries
        ],
    )
