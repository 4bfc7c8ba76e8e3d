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
from collections.abc import AsyncIterator, Iterable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from ..exceptions import StoreError
from ..migrations import MIGRATIONS

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


def _row(cls: type[T], row: aiosqlite.Row | None) -> T | None:
    if row is None:
        return None
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: row[n] for n in names})


def _rows(cls: type[T], rows: Iterable[aiosqlite.Row]) -> list[T]:
    return [_row(cls, r) for r in rows]  # type: ignore[misc]


class StoreBase:
    """Connections, transactions and migrations; the mixins add the queries by area."""

    def __init__(self, path: Path, site: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self.site = site
        self._w = writer
        self._r = reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, site: str = "1", busy_timeout: float = 10.0) -> Self:
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

    async def __aenter__(self) -> Self:
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

    async def _select(self, cls: type[T], table: str, where: dict[str, Any], order: str, limit: int) -> list[T]:
        """Rows of ``table`` matching every non-None ``where`` value (column names are ours, never input)."""
        filters = {k: v for k, v in where.items() if v is not None}
        clause = " AND ".join(f"{k} = ?" for k in filters) or "1 = 1"
        sql = f"SELECT * FROM {table} WHERE {clause} ORDER BY {order} LIMIT ?"
        async with self._r.execute(sql, [*filters.values(), limit]) as cur:
            return _rows(cls, await cur.fetchall())


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
