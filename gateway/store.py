"""The SQLite queue: everything the gateway knows lives here (WAL, one writer).

Two connections per process: a writer, used inside ``BEGIN IMMEDIATE``
transactions one at a time (an asyncio lock), and a reader that only ever
sees committed rows. The CLI opens its own ``Store`` on the same file; the
file is the only interface between the CLI and the daemon.

Rules kept here (DESIGN.md): a received PDU is committed before the SIM copy
may be deleted; a message is routed at most once (``state`` guard); an outbox
row is ``sent`` only after ``+CMGS``; rows left ``sending`` by a crash are
queued again at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from ulid import ULID

from sim_bank.pdu import count_parts

from .exceptions import StoreError
from .migrations import MIGRATIONS
from .refs import format_ref

LANES = {"reply": 0, "notification": 1, "broadcast": 2}
# What a failing database raises (disk full, locked past the busy timeout, I/O error):
# callers that must keep running catch these, wait, and try again.
STORE_ERRORS = (StoreError, sqlite3.Error)

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """ISO-8601 UTC text (sorts correctly), or None."""
    return stamp(ts) if ts else None


def stamp(ts: datetime | None = None) -> str:
    """ISO-8601 UTC text of ``ts``, or of now."""
    return (ts or utcnow()).astimezone(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class InboundItem:
    """One PDU from a SIM sweep, decoded as far as it would go."""

    memory: str
    index: int
    pdu: str
    kind: str  # sms | part | report | binary | undecodable
    sender: str | None = None
    alphanumeric: bool = False
    text: str | None = None
    sent_at: str | None = None
    concat: tuple[int, int, int] | None = None  # (reference, total, sequence)
    error: str | None = None


@dataclass(frozen=True)
class MessageRow:
    id: int
    modem_id: str
    sender: str
    alphanumeric: int
    text: str
    parts: int
    complete: int
    sent_at: str | None
    received_at: str
    state: str
    sender_kind: str | None
    phone: str | None
    action: str | None
    language: str | None
    ticket_id: str | None
    error: str | None


@dataclass(frozen=True)
class TicketRow:
    id: str
    ref: str
    seq: int
    site: str
    phone: str
    category: str
    code: str
    account: str | None
    text: str
    language: str
    status: str
    received_at: str
    modem: str | None
    message_id: int | None
    synced_at: str | None
    crm_id: str | None

    JSON_FIELDS = (
        "id",
        "ref",
        "site",
        "phone",
        "category",
        "code",
        "account",
        "text",
        "language",
        "status",
        "received_at",
        "modem",
        "synced_at",
        "crm_id",
    )

    def as_json(self) -> dict[str, Any]:
        """The ticket JSON contract (DESIGN.md): CLI ``--json`` and CRM push."""
        return {name: getattr(self, name) for name in self.JSON_FIELDS}


@dataclass(frozen=True)
class OutboxRow:
    id: int
    phone: str
    text: str
    lane: str
    priority: int
    status: str
    modem_hint: str | None
    modem_id: str | None
    parts: int
    parts_sent: int
    refs: str | None
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    ticket_id: str | None
    message_id: int | None
    created_at: str
    claimed_at: str | None
    sent_at: str | None

    @property
    def concat_ref(self) -> int:
        """Stable per row, so parts resent after a failure join those already delivered."""
        return self.id % 256


@dataclass(frozen=True)
class NewTicket:
    category: str
    code: str
    account: str | None


@dataclass(frozen=True)
class Outcome:
    """What routing decided for one message; ``reply`` builds the text once the ref is known."""

    sender_kind: str
    phone: str | None
    action: str
    language: str
    ticket: NewTicket | None = None
    reply: Callable[[str | None], str | None] | None = None


def _row(cls: type[T], row: aiosqlite.Row | None) -> T | None:
    if row is None:
        return None
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: row[n] for n in names})


def _rows(cls: type[T], rows: Iterable[aiosqlite.Row]) -> list[T]:
    return [_row(cls, r) for r in rows]  # type: ignore[misc]


# ---------------------------------------------------------------- store


class Store:
    """Open with :meth:`open`; close with :meth:`close` (or ``async with``)."""

    def __init__(self, path: Path, site: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self.site = site
        self._w = writer
        self._r = reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, site: str = "1", busy_timeout: float = 10.0) -> Store:
        """Open (creating and migrating as needed). ``busy_timeout``: seconds a statement waits
        for another process's write lock before failing with :class:`StoreError`."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = await _connect(path, busy_timeout)
            reader = await _connect(path, busy_timeout)
        except (OSError, aiosqlite.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        store = cls(path, site, writer, reader)
        try:
            await store._migrate()
        except Exception:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        for conn in (self._w, self._r):
            with contextlib.suppress(Exception):
                await conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time; BEGIN IMMEDIATE takes the file's write lock up front.
        Any SQLite failure (locked, disk full, I/O) rolls back and becomes a :class:`StoreError`."""
        async with self._lock:
            try:
                await self._w.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"database {self.path} is busy or read-only: {exc}") from None
            try:
                yield self._w
                await self._w.commit()
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    await self._w.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"database {self.path}: {exc}") from exc
                raise

    async def _migrate(self) -> None:
        await self._w.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations
               (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"""
        )
        await self._w.commit()
        async with self._w.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations") as cur:
            (current,) = await cur.fetchone()  # type: ignore[misc]
        known = max(m[0] for m in MIGRATIONS)
        if current > known:
            raise StoreError(
                f"database {self.path} was written by a newer gateway (schema {current}, this one knows {known}): "
                "upgrade the gateway"
            )
        for number, name, sql in MIGRATIONS:
            if number <= current:
                continue
            async with self._write() as db:
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, stamp()),
                )

    async def schema_version(self) -> int:
        async with self._r.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def data_version(self) -> int:
        """Changes whenever another connection (the CLI, our own writer) commits."""
        async with self._r.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ inbound

    async def add_inbound(self, modem_id: str, items: Sequence[InboundItem], now: datetime | None = None) -> list[int]:
        """Commit what a sweep found; returns the ids of messages now complete and waiting to be routed.

        Re-adding a PDU still on the SIM (listed again before its delete) is a no-op.
        """
        received = stamp(now)
        created: list[int] = []
        async with self._write() as db:
            for it in items:
                key = f"{modem_id}|{it.sender}|{it.concat[0]}|{it.concat[1]}" if it.concat else None
                cur = await db.execute(
                    """INSERT INTO inbound_pdus (modem_id, memory, sim_index, pdu, kind, error, sender, alphanumeric,
                           text, sent_at, concat_key, concat_seq, concat_total, received_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT DO NOTHING""",
                    (
                        modem_id,
                        it.memory,
                        it.index,
                        it.pdu,
                        it.kind,
                        it.error,
                        it.sender,
                        int(it.alphanumeric),
                        it.text,
                        it.sent_at,
                        key,
                        it.concat[2] if it.concat else None,
                        it.concat[1] if it.concat else None,
                        received,
                    ),
                )
                if cur.rowcount == 0:
                    continue  # listed again before its delete: already stored
                pdu_id = int(cur.lastrowid or 0)
                if await _seen_before(db, modem_id, it.pdu, pdu_id):
                    await db.execute("UPDATE inbound_pdus SET kind = 'duplicate' WHERE id = ?", (pdu_id,))
                    continue  # the network delivered the same SMS (or part) twice
                if it.kind == "sms":
                    mid = await _insert_message(
                        db, modem_id, it.sender or "", it.alphanumeric, it.text or "", 1, True, it.sent_at, received
                    )
                    await db.execute("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", (mid, pdu_id))
                    created.append(mid)
                elif it.kind == "part" and key is not None:
                    created += await _add_part(db, modem_id, pdu_id, key, it, received)
        return created

    async def mark_deleted(self, modem_id: str, memory: str, indexes: Sequence[int]) -> None:
        """The SIM copies are gone: the unique key (modem, memory, index, pdu) may be reused."""
        if not indexes:
            return
        async with self._write() as db:
            await db.executemany(
                "UPDATE inbound_pdus SET on_sim = 0 WHERE modem_id = ? AND memory = ? AND sim_index = ? AND on_sim = 1",
                [(modem_id, memory, i) for i in indexes],
            )

    async def release_incomplete(self, older_than: datetime, now: datetime | None = None) -> list[int]:
        """Long messages whose missing parts never came: route what did come."""
        cutoff = stamp(older_than)
        async with self._r.execute(
            """SELECT concat_key FROM inbound_pdus WHERE kind = 'part' AND message_id IS NULL
               GROUP BY concat_key HAVING MIN(received_at) < ?""",
            (cutoff,),
        ) as cur:
            keys = [r[0] for r in await cur.fetchall()]
        created = []
        for key in keys:
            async with self._write() as db:
                mid = await _release_set(db, key, stamp(now))
                if mid is not None:
                    created.append(mid)
        return created

    async def waiting_messages(self, limit: int = 500) -> list[MessageRow]:
        async with self._r.execute("SELECT * FROM messages WHERE state = 'new' ORDER BY id LIMIT ?", (limit,)) as cur:
            return _rows(MessageRow, await cur.fetchall())

    async def known_language(self, phone: str) -> str | None:
        """The language this phone last wrote in (for a message that does not tell)."""
        async with self._r.execute(
            "SELECT language FROM messages WHERE phone = ? AND language IS NOT NULL ORDER BY id DESC LIMIT 1", (phone,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def complete_message(
        self, message: MessageRow, outcome: Outcome, now: datetime | None = None
    ) -> tuple[TicketRow | None, int | None]:
        """Route one message: ticket, reply and message state in one transaction, at most once."""
        at = stamp(now)
        async with self._write() as db:
            cur = await db.execute(
                """UPDATE messages SET state = 'done', sender_kind = ?, phone = ?, action = ?, language = ?
                   WHERE id = ? AND state = 'new'""",
                (outcome.sender_kind, outcome.phone, outcome.action, outcome.language, message.id),
            )
            if cur.rowcount == 0:
                return None, None  # someone routed it already
            ticket = None
            if outcome.ticket is not None and outcome.phone:
                ticket = await self._insert_ticket(db, message, outcome, at)
                await db.execute("UPDATE messages SET ticket_id = ? WHERE id = ?", (ticket.id, message.id))
            outbox_id = None
            text = outcome.reply(ticket.ref if ticket else None) if outcome.reply else None
            if text and outcome.phone:
                outbox_id = await _insert_outbox(
                    db,
                    outcome.phone,
                    text,
                    "reply",
                    at,
                    modem_hint=message.modem_id,
                    ticket_id=ticket.id if ticket else None,
                    message_id=message.id,
                )
        return ticket, outbox_id

    async def fail_message(self, message_id: int, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE messages SET state = 'failed', error = ? WHERE id = ? AND state = 'new'", (error, message_id)
            )

    async def _insert_ticket(
        self, db: aiosqlite.Connection, message: MessageRow, outcome: Outcome, at: str
    ) -> TicketRow:
        async with db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets") as cur:
            (seq,) = await cur.fetchone()  # type: ignore[misc]
        assert outcome.ticket is not None and outcome.phone is not None
        ticket = TicketRow(
            id=f"{self.site}-{ULID()}",
            ref=format_ref(self.site, seq),
            seq=seq,
            site=self.site,
            phone=outcome.phone,
            category=outcome.ticket.category,
            code=outcome.ticket.code,
            account=outcome.ticket.account,
            text=message.text,
            language=outcome.language,
            status="open",
            received_at=message.received_at,
            modem=message.modem_id,
            message_id=message.id,
            synced_at=None,
            crm_id=None,
        )
        names = [f.name for f in fields(TicketRow)]
        await db.execute(
            f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [getattr(ticket, n) for n in names],
        )
        return ticket

    # ------------------------------------------------------------ outbox

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
            return await _insert_outbox(db, phone, text, lane, stamp(now), modem_hint=modem_hint, ticket_id=ticket_id)

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

    # ------------------------------------------------------------ queries

    async def tickets(self, status: str | None = None, limit: int = 50) -> list[TicketRow]:
        return await self._select(TicketRow, "tickets", {"status": status}, "received_at DESC, seq DESC", limit)

    async def ticket(self, *refs_or_ids: str) -> TicketRow | None:
        """The ticket with one of these refs or ids (the first, newest, if several match)."""
        if not refs_or_ids:
            return None
        marks = ", ".join("?" for _ in refs_or_ids)
        async with self._r.execute(
            f"SELECT * FROM tickets WHERE ref IN ({marks}) OR id IN ({marks}) ORDER BY seq DESC LIMIT 1",
            (*refs_or_ids, *refs_or_ids),
        ) as cur:
            return _row(TicketRow, await cur.fetchone())

    async def outbox(self, status: str | None = None, limit: int = 50, ticket_id: str | None = None) -> list[OutboxRow]:
        return await self._select(OutboxRow, "outbox", {"status": status, "ticket_id": ticket_id}, "id DESC", limit)

    async def messages(self, limit: int = 50) -> list[MessageRow]:
        return await self._select(MessageRow, "messages", {}, "id DESC", limit)

    async def _select(self, cls: type[T], table: str, where: dict[str, Any], order: str, limit: int) -> list[T]:
        """Rows of ``table`` matching every non-None ``where`` value (column names are ours, never input)."""
        filters = {k: v for k, v in where.items() if v is not None}
        clause = " AND ".join(f"{k} = ?" for k in filters) or "1 = 1"
        sql = f"SELECT * FROM {table} WHERE {clause} ORDER BY {order} LIMIT ?"
        async with self._r.execute(sql, [*filters.values(), limit]) as cur:
            return _rows(cls, await cur.fetchall())

    async def counts(self) -> dict[str, dict[str, int]]:
        """Rows by state, per table: the numbers behind ``demo``'s summary and ``stats``."""
        out: dict[str, dict[str, int]] = {}
        for table, column in (
            ("messages", "state"),
            ("tickets", "category"),
            ("outbox", "status"),
            ("inbound_pdus", "kind"),
        ):
            async with self._r.execute(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}") as cur:
                out[table] = {str(k): int(v) for k, v in await cur.fetchall()}
        return out


# ---------------------------------------------------------------- helpers


async def _connect(path: Path, busy_timeout: float) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    await conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit survives power loss too (crises come with power cuts), at one fsync per commit.
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _statements(sql: str) -> list[str]:
    """A migration's statements: ``--`` comments removed first (they may contain ';')."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [statement.strip() for statement in code.split(";") if statement.strip()]


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


async def _insert_message(
    db: aiosqlite.Connection,
    modem_id: str,
    sender: str,
    alphanumeric: bool,
    text: str,
    parts: int,
    complete: bool,
    sent_at: str | None,
    received_at: str,
) -> int:
    cur = await db.execute(
        """INSERT INTO messages (modem_id, sender, alphanumeric, text, parts, complete, sent_at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (modem_id, sender, int(alphanumeric), text, parts, int(complete), sent_at, received_at),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


async def _insert_outbox(
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


async def _seen_before(db: aiosqlite.Connection, modem_id: str, pdu: str, pdu_id: int) -> bool:
    """An identical PDU -- same sender, text and SMSC timestamp to the second -- is the
    network's redelivery (it did not get the modem's acknowledgement), not a new message."""
    async with db.execute(
        "SELECT 1 FROM inbound_pdus WHERE modem_id = ? AND pdu = ? AND id <> ? LIMIT 1",
        (modem_id, pdu, pdu_id),
    ) as cur:
        return await cur.fetchone() is not None


async def _open_parts(db: aiosqlite.Connection, key: str) -> list[aiosqlite.Row]:
    async with db.execute(
        """SELECT id, concat_seq, concat_total, text, sender, alphanumeric, sent_at, received_at, modem_id
           FROM inbound_pdus WHERE concat_key = ? AND kind = 'part' AND message_id IS NULL ORDER BY concat_seq, id""",
        (key,),
    ) as cur:
        return list(await cur.fetchall())


async def _add_part(
    db: aiosqlite.Connection, modem_id: str, pdu_id: int, key: str, it: InboundItem, received: str
) -> list[int]:
    """Store one part of a long message; when the set is complete, join it into a message.
    Returns the ids of messages this created."""
    assert it.concat is not None
    _, total, seq = it.concat
    created: list[int] = []
    parts: list[dict[str, Any]] = [dict(p) for p in await _open_parts(db, key) if p["id"] != pdu_id]
    same_seq = [p for p in parts if p["concat_seq"] == seq]
    if same_seq:
        if same_seq[0]["text"] == it.text:
            await db.execute("UPDATE inbound_pdus SET kind = 'duplicate' WHERE id = ?", (pdu_id,))
            return created  # the network delivered this part twice
        # the sender's phone reused the reference before the old message was complete:
        # the old parts become a message of their own; this part starts a new set
        released = await _release_set(db, key, received, exclude=pdu_id)
        if released is not None:
            created.append(released)
        parts = []
    parts.append({"id": pdu_id, "concat_seq": seq, "text": it.text, "sent_at": it.sent_at, "received_at": received})
    by_seq: dict[int, Any] = {}
    for p in parts:
        by_seq.setdefault(p["concat_seq"], p)
    if len(by_seq) < total:
        return created
    ordered = [by_seq[s] for s in sorted(by_seq)]
    text = "".join(p["text"] or "" for p in ordered)
    first = ordered[0]
    mid = await _insert_message(
        db,
        modem_id,
        it.sender or "",
        it.alphanumeric,
        text,
        total,
        True,
        first["sent_at"],
        min(p["received_at"] for p in ordered),
    )
    await db.executemany("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", [(mid, p["id"]) for p in ordered])
    return [*created, mid]


async def _release_set(db: aiosqlite.Connection, key: str, at: str, exclude: int | None = None) -> int | None:
    """Turn an incomplete set of parts into a message of what arrived (gaps marked with …)."""
    parts = [p for p in await _open_parts(db, key) if p["id"] != exclude]
    if not parts:
        return None
    by_seq: dict[int, aiosqlite.Row] = {}
    for p in parts:
        by_seq.setdefault(p["concat_seq"], p)
    total = parts[0]["concat_total"]
    pieces = []
    for s in range(1, total + 1):
        pieces.append((by_seq[s]["text"] or "") if s in by_seq else " … ")
    first = parts[0]
    mid = await _insert_message(
        db,
        first["modem_id"],
        first["sender"] or "",
        bool(first["alphanumeric"]),
        "".join(pieces).strip(),
        total,
        False,
        first["sent_at"],
        min(p["received_at"] for p in parts),
    )
    await db.executemany("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", [(mid, p["id"]) for p in parts])
    return mid
