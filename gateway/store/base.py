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
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from gateway.exceptions import DatabaseCorrupt, DatabaseMissing, DatabaseReplaced, DatabaseUnreadable, StoreError
from gateway.store import files as private_files
from gateway.store.migrations import MIGRATIONS

LANES = {"reply": 0, "notification": 1, "broadcast": 2}
# What a failing database raises (disk full, locked past the busy timeout, I/O error):
# callers that must keep running catch these, wait, and try again.
STORE_ERRORS = (StoreError, sqlite3.Error)
CLOSE_TIMEOUT = 10.0  # seconds closing one connection may take (a statement still running)

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
        self._r = Reader(reader, path)
        self._lock = asyncio.Lock()
        # the file opened, held by a descriptor of our own so that its link count can be read
        # even after it was unlinked or replaced: see replaced()
        self._file = os.open(path, os.O_RDONLY)

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        site: str = "1",
        busy_timeout: float = 10.0,
        create: bool = True,
        verify: bool = False,
        group: str | None = None,
    ) -> Self:
        """Open and migrate. ``busy_timeout``: seconds a statement waits for another process's
        write lock before failing with :class:`StoreError`. ``create``: make the file (private:
        see :mod:`gateway.store.files`) when there is none, else raise :class:`DatabaseMissing`.
        ``verify``: run ``PRAGMA quick_check`` first and refuse a damaged file
        (:class:`DatabaseCorrupt`), as the daemon does before it serves on it."""
        path = Path(path)
        try:
            if not path.exists():
                if not create:
                    raise DatabaseMissing(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                private_files.create(path, group)
            writer = await _connect(path, busy_timeout)
            reader = await _connect(path, busy_timeout)
        except sqlite3.DatabaseError as exc:
            if corruption(exc):
                raise DatabaseCorrupt(path, str(exc)) from None
            raise StoreError(f"cannot open database {path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        store = cls(path, site, writer, reader)
        try:
            if verify:
                verdict = await store.quick_check()
                if verdict != "ok":
                    raise DatabaseCorrupt(path, verdict)
            await store._migrate()
        except BaseException as exc:
            await store.close()
            if isinstance(exc, sqlite3.DatabaseError) and corruption(exc):
                raise DatabaseCorrupt(path, str(exc)) from None
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open database {path}: {exc}") from None
            raise
        return store

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close both connections; bounded: a connection busy past ``timeout`` is left to its
        (daemon) thread, which SQLite's journal makes safe."""
        for conn in (self._w, self._r.conn):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout)
        if self._file >= 0:
            os.close(self._file)
            self._file = -1

    # ------------------------------------------------------------ the file itself

    async def quick_check(self) -> str:
        """``ok``, or what SQLite's ``PRAGMA quick_check`` found wrong (first lines)."""
        try:
            async with self._r.execute(QUICK_CHECK) as cur:
                return verdict([r[0] for r in await cur.fetchall()])
        except DatabaseCorrupt as exc:
            return exc.verdict

    def replaced(self) -> str | None:
        """Why the file at :attr:`path` is no longer the file this store writes (``removed``,
        ``replaced``), or None while it still is: the same device and inode, and still linked.
        Two stats: cheap enough to ask before every SIM delete."""
        try:
            ours = os.fstat(self._file)
            now = os.stat(self.path)
        except FileNotFoundError:
            return "removed"
        except OSError as exc:
            return f"unreachable ({exc.strerror})"
        if (now.st_dev, now.st_ino) != (ours.st_dev, ours.st_ino):
            return "replaced"
        if ours.st_nlink < 1:
            return "removed"
        return None

    def check_identity(self) -> None:
        """Raise :class:`DatabaseReplaced` unless the file at the path is still ours."""
        why = self.replaced()
        if why is not None:
            raise DatabaseReplaced(self.path, why)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time; BEGIN IMMEDIATE takes the file's write lock up front.
        Any SQLite failure (locked, disk full, I/O) rolls back and becomes a :class:`StoreError`.

        Cancellation-safe: a statement handed to aiosqlite runs on its thread even when the
        task awaiting it is cancelled, so whatever interrupts us -- at BEGIN, in the body or at
        COMMIT -- the writer is rolled back before the lock is released, and the next writer
        never finds itself inside someone else's transaction."""
        async with self._lock:
            try:
                await self._w.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if corruption(exc):
                    raise DatabaseCorrupt(self.path, str(exc)) from None
                raise StoreError(f"database {self.path} is busy or read-only: {exc}") from None
            except BaseException:  # cancelled: the BEGIN may still run after we stop waiting
                await self._abandon()
                raise
            try:
                yield self._w
                await self._w.commit()
            except BaseException as exc:
                await self._abandon()
                if isinstance(exc, sqlite3.Error):
                    if corruption(exc):
                        raise DatabaseCorrupt(self.path, str(exc)) from exc
                    raise StoreError(f"database {self.path}: {exc}") from exc
                raise

    @contextlib.asynccontextmanager
    async def _scratch(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer outside any transaction, one user at a time, for this connection's TEMP
        tables (a broadcast's audience): no lock on the file is taken. SQLite's errors come out
        as :class:`DatabaseCorrupt` or :class:`StoreError`."""
        async with self._lock:
            try:
                yield self._w
            except sqlite3.Error as exc:
                if corruption(exc):
                    raise DatabaseCorrupt(self.path, str(exc)) from None
                raise StoreError(f"database {self.path}: {exc}") from None

    async def _abandon(self) -> None:
        """Roll back the writer's transaction, if any. Shielded: it completes (in order, on the
        connection's thread, so before the next writer's BEGIN) even if this task is cancelled
        again while waiting for it -- and that cancellation is then passed on, not swallowed."""
        rollback = asyncio.ensure_future(self._w.rollback())
        rollback.add_done_callback(_consume)
        with contextlib.suppress(sqlite3.Error, ValueError):
            await asyncio.shield(rollback)

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


class Reader:
    """The reader connection, whose failures say what they mean: SQLite's errors come out as
    :class:`DatabaseCorrupt` (the file is damaged) or :class:`DatabaseUnreadable` (locked past
    the busy timeout, I/O, permissions), both a :class:`StoreError`, so no caller has to know
    sqlite3. Anything else is the connection's own (``set_trace_callback`` in tests)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Query:
        return Query(self.conn.execute(sql, parameters), self.path)

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> Iterable[aiosqlite.Row]:
        try:
            return await self.conn.execute_fetchall(sql, parameters)
        except sqlite3.Error as exc:
            raise unreadable(self.path, exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


class Query:
    """``async with reader.execute(sql) as cursor``, translating SQLite's errors (see :class:`Reader`)."""

    def __init__(self, pending: Awaitable[aiosqlite.Cursor], path: Path) -> None:
        self._pending = pending
        self._path = path
        self._cursor: aiosqlite.Cursor | None = None

    async def __aenter__(self) -> aiosqlite.Cursor:
        try:
            self._cursor = await self._pending
        except sqlite3.Error as exc:
            raise unreadable(self._path, exc) from None
        return self._cursor

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self._cursor is not None:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._cursor.close()
        if isinstance(exc, sqlite3.Error):
            raise unreadable(self._path, exc) from None


QUICK_CHECK = "PRAGMA quick_check(20)"  # the first 20 problems are enough to say it is damaged


def verdict(rows: Iterable[object]) -> str:
    """``ok``, or the first problems ``PRAGMA quick_check`` listed."""
    lines = [str(r) for r in rows]
    return "ok" if lines == ["ok"] else "; ".join(lines[:5])


def _consume(done: asyncio.Future[Any]) -> None:
    """Retrieve a shielded rollback's outcome nobody awaited any more (no "never retrieved")."""
    if not done.cancelled():
        done.exception()


def corruption(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is damaged or not a database (not busy, not I/O)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or (
        type(exc) is sqlite3.DatabaseError and ("malformed" in str(exc) or "not a database" in str(exc))
    )


def read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A plain (blocking) read-only connection to the file, for a command or a thread that
    must not migrate or write it: rows come as :class:`sqlite3.Row`, and no transaction is
    begun unless the caller begins one."""
    if not path.exists():
        raise DatabaseMissing(path)
    conn = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, timeout=busy_timeout, check_same_thread=False, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    return conn


def unreadable(path: Path, exc: sqlite3.Error) -> StoreError:
    """What a failed read of ``path`` raises: damaged, or merely unreadable (locked, I/O, permissions)."""
    if corruption(exc):
        return DatabaseCorrupt(path, str(exc))
    return DatabaseUnreadable(path, str(exc))


async def _connect(path: Path, busy_timeout: float) -> aiosqlite.Connection:
    pending = aiosqlite.connect(path, isolation_level=None)
    # aiosqlite's thread is not a daemon thread: one left open by a stop that timed out would
    # keep the process alive for ever. SQLite's journal makes an abandoned connection safe.
    thread = getattr(pending, "_thread", None)
    if thread is not None:
        thread.daemon = True
    conn = await pending
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
