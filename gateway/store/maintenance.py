"""Keeping the database small and fast for years (purges by date, in short transactions),
and the data safe: online backups and checks of the copy, tickets exported by hand.

The backup and export functions are blocking and read the file without a
:class:`~gateway.store.Store` (nothing is migrated or written): a sysadmin runs them
beside the daemon.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.exceptions import StoreError
from gateway.store.base import StoreBase, read_only, stamp, unreadable, utcnow

PURGE_BATCH = 5000  # rows a transaction: the daemon's writes never wait long behind a purge
SESSIONS_KEPT = timedelta(days=30)  # console sign-ins past their end (the audit log keeps each start and end)
FINISHED = ("sent", "delivered", "failed", "unknown", "cancelled")


class MaintenanceMixin(StoreBase):
    async def purge(self, inbound_pdus_days: int, outbox_days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete raw PDUs of messages already made (or duplicates, reports, undecodable ones)
        and finished outbox rows (with their parts) older than the given days; 0 keeps them.
        Journal events go with the outbox rows' days, once every active webhook has them.
        Console sessions ended or expired over :data:`SESSIONS_KEPT` ago go whatever the days.
        Returns the rows deleted per table."""
        now = now or utcnow()
        out = {"inbound_pdus": 0, "outbox": 0, "outbox_parts": 0, "pending_reports": 0, "events": 0, "sessions": 0}
        if inbound_pdus_days > 0:
            cutoff = stamp(now - timedelta(days=inbound_pdus_days))
            out["inbound_pdus"] = await self._purge_batches(
                """DELETE FROM inbound_pdus WHERE id IN (
                       SELECT id FROM inbound_pdus WHERE received_at < ?
                         AND (message_id IS NOT NULL OR kind != 'part') LIMIT ?)""",
                cutoff,
            )
            out["pending_reports"] = await self._purge_batches(
                """DELETE FROM pending_reports WHERE id IN (
                       SELECT id FROM pending_reports WHERE received_at < ? LIMIT ?)""",
                cutoff,
            )
        if outbox_days > 0:
            cutoff = stamp(now - timedelta(days=outbox_days))
            finished = ", ".join(f"'{s}'" for s in FINISHED)
            while True:
                async with self._write() as db:
                    async with db.execute(
                        f"SELECT id FROM outbox WHERE created_at < ? AND status IN ({finished}) LIMIT ?",
                        (cutoff, PURGE_BATCH),
                    ) as cur:
                        ids = [r[0] for r in await cur.fetchall()]
                    if not ids:
                        break
                    marks = ", ".join("?" for _ in ids)
                    cur = await db.execute(f"DELETE FROM outbox_parts WHERE outbox_id IN ({marks})", ids)
                    out["outbox_parts"] += cur.rowcount
                    cur = await db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
                    out["outbox"] += cur.rowcount
            out["events"] = await self._purge_events(cutoff)
        out["sessions"] = await self._purge_batches(
            """DELETE FROM sessions WHERE id IN (
                   SELECT id FROM sessions WHERE COALESCE(ended_at, expires_at) < ? LIMIT ?)""",
            stamp(now - SESSIONS_KEPT),
        )  # a session ended or expired a month ago signs nothing in; the rows would only grow
        return out

    async def _purge_events(self, cutoff: str) -> int:
        """Journal events older than ``cutoff`` that every active webhook has received, oldest
        first, in short transactions; each looks at the oldest rows only (never a whole scan
        while intake waits for the writer)."""
        total = 0
        while True:
            async with self._write() as db:
                cur = await db.execute(
                    """DELETE FROM events WHERE seq IN (
                           SELECT seq FROM (SELECT seq, created_at FROM events ORDER BY seq LIMIT ?)
                           WHERE created_at < ? AND seq <= (SELECT COALESCE(MIN(after_seq), 9223372036854775807)
                                                            FROM webhooks WHERE status = 'active'))""",
                    (PURGE_BATCH, cutoff),
                )
                total += cur.rowcount
                if cur.rowcount < PURGE_BATCH:
                    return total

    async def _purge_batches(self, sql: str, cutoff: str) -> int:
        total = 0
        while True:
            async with self._write() as db:
                cur = await db.execute(sql, (cutoff, PURGE_BATCH))
                total += cur.rowcount
                if cur.rowcount < PURGE_BATCH:
                    return total


@dataclass(frozen=True)
class CopyCheck:
    verdict: str  # "ok", or what PRAGMA quick_check found
    rows: dict[str, int]  # table -> rows (empty unless the copy checks out)
    schema_version: int


def backup_to(source: Path, target: Path, busy_timeout: float = 10.0) -> None:
    """Copy ``source`` into the new file ``target`` with SQLite's online backup API: all
    pages in one step, so one read transaction and one consistent snapshot however busy the
    daemon is; the copy is one self-contained file (no -wal). Raises :class:`StoreError`."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=busy_timeout)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            src.close()
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError(str(exc)) from None


def check_copy(path: Path, tables: Sequence[str]) -> CopyCheck:
    """``PRAGMA quick_check`` of a copy, then its rows per table and its schema version.
    Raises :class:`StoreError` when the copy cannot be read."""
    try:
        conn = sqlite3.connect(path)
        try:
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                return CopyCheck(str(verdict), {}, 0)
            rows = {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables}
            (version,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations").fetchone()
            return CopyCheck("ok", rows, int(version))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(str(exc)) from None


def export_rows(
    path: Path, columns: Sequence[str], *, since: datetime | None, sync: str | None, busy_timeout: float = 10.0
) -> Generator[dict[str, Any], None, None]:
    """Tickets' ``columns`` (column names are ours, never input), oldest first: received since
    ``since``, in sync state ``sync``; from one read-only snapshot. Raises ``DatabaseMissing``,
    ``DatabaseCorrupt`` or ``DatabaseUnreadable``."""
    sql = f"SELECT {', '.join(columns)} FROM tickets WHERE received_at >= ?"
    params: list[Any] = [stamp(since) if since else ""]
    if sync:
        sql += " AND sync_status = ?"
        params.append(sync)
    try:
        conn = read_only(path, busy_timeout)
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from None
    try:
        for row in conn.execute(sql + " ORDER BY seq", params):
            yield dict(row)
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from None
    finally:
        conn.close()
