"""What ``gateway doctor`` asks of the database file itself: intact, which schema, WAL, writable.

Blocking, and without a :class:`~gateway.store.Store`: doctor may run as root or
beside a running daemon, and must never write a damaged file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gateway.store.base import QUICK_CHECK, corruption, unreadable, verdict


@dataclass(frozen=True)
class FileState:
    schema: int  # the last migration applied
    journal: str  # SQLite's journal mode: "wal" when the gateway opened it


def quick_check_file(path: Path, busy_timeout: float = 10.0) -> str:
    """``ok`` or what ``PRAGMA quick_check`` found, read-only. A file that is busy or cannot
    be opened is ``ok`` here: :func:`describe_file` says why in its own words."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout)
        try:
            return verdict(r[0] for r in conn.execute(QUICK_CHECK))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if not corruption(exc):
            return "ok"
        return str(exc)


def describe_file(path: Path, busy_timeout: float = 10.0) -> FileState:
    """The schema version and journal mode of a file this user can write: the write lock is
    taken and given back at once (nothing is written). Raises ``DatabaseCorrupt``, or
    ``DatabaseUnreadable`` when it cannot be read or the lock cannot be taken."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout)
        try:
            (version,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations").fetchone()
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            conn.execute("BEGIN IMMEDIATE")  # can we take the write lock?
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from None
    return FileState(int(version), str(mode))
