"""A quick, read-only way into the database for commands that only read: plain blocking
:mod:`sqlite3`, no asyncio, no migrations, nothing written.

``gateway tickets list`` starts in a fraction of the time the :class:`~gateway.store.Store`
takes (asyncio, aiosqlite and the whole store are never imported). It reads only a database
the store would read as it is: when there is no file, when its schema is not this gateway's
(the store would migrate it, or refuse a newer one) or when SQLite reports any trouble,
the answer is None and the caller goes through the store, which migrates, or says what is
wrong exactly as it always does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from pathlib import Path

from gateway.store.migrations import MIGRATIONS
from gateway.store.rows_tickets import TicketRow

SCHEMA = max(number for number, _name, _sql in MIGRATIONS)  # the schema this gateway writes
_TICKET_COLUMNS = tuple(f.name for f in fields(TicketRow))


def tickets(
    path: Path, busy_timeout: float, *, status: str | None, limit: int, sync_status: str | None
) -> list[TicketRow] | None:
    """The newest ``limit`` tickets (with this ``status`` and CRM ``sync_status``, if given),
    as :meth:`Store.tickets <gateway.store.queries.QueriesMixin.tickets>` returns them; None
    when this database is not one to read this way (see the module's docstring)."""
    filters = {k: v for k, v in (("status", status), ("sync_status", sync_status)) if v is not None}
    clause = " AND ".join(f"{k} = ?" for k in filters) or "1 = 1"
    sql = f"SELECT * FROM tickets WHERE {clause} ORDER BY received_at DESC, seq DESC LIMIT ?"
    conn = _open(path, busy_timeout)
    if conn is None:
        return None
    try:
        rows = conn.execute(sql, [*filters.values(), limit]).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return [TicketRow(**{name: row[name] for name in _TICKET_COLUMNS}) for row in rows]


def _open(path: Path, busy_timeout: float) -> sqlite3.Connection | None:
    """A read-only connection to ``path`` if it holds this gateway's schema, else None."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=busy_timeout)
    except sqlite3.Error:
        return None
    conn.row_factory = sqlite3.Row
    try:
        (version,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations").fetchone()
    except sqlite3.Error:
        conn.close()
        return None
    if version != SCHEMA:
        conn.close()
        return None
    return conn
