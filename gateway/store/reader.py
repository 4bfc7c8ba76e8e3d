"""A quick, read-only way into the database for commands that only read: plain blocking
:mod:`sqlite3`, no asyncio, no migrations, nothing written.

``gateway tickets list`` starts in a fraction of the time the :class:`~gateway.store.Store`
takes (asyncio, aiosqlite and the whole store are never imported). It reads only a database
the store would read as it is: when there is no file, when its schema is not this gateway's
(the store would migrate it, or refuse a newer one) or when SQLite reports any trouble,
the answer is None and the caller goes through the store, which migrates, or says what is
wrong exactly as it always does.

The desk's filters (``tickets list --phone --area --search ...``, :class:`TicketFilter`) are
plain parameterised SQL; what a filter means (a phone's +E.164 form, the folded needle of a
search) is decided above, in :mod:`gateway.desk.finding`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

from gateway.store.migrations import MIGRATIONS
from gateway.store.rows_tickets import TicketRow

SCHEMA = max(number for number, _name, _sql in MIGRATIONS)  # the schema this gateway writes
_TICKET_COLUMNS = tuple(f.name for f in fields(TicketRow))
_EQUAL = ("status", "sync_status", "phone", "account", "assigned_to")  # filters that are one column's value


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets: each field given narrows the list (all of them together)."""

    status: str | None = None
    sync_status: str | None = None
    category: str | None = None  # compared case-insensitively (ASCII)
    phone: str | None = None  # +E.164, as tickets keep it
    account: str | None = None  # ASCII digits, as tickets keep it
    assigned_to: str | None = None
    area: str | None = None  # a contact's area: tickets from its phone or about its account
    since: str | None = None  # received at or after (the store's ISO UTC stamp)
    until: str | None = None  # received before
    search: str | None = None  # ``fold(text)`` contains it
    fold: Callable[[str], str] | None = None  # how the ticket's text is folded for ``search``
    after_seq: int | None = None  # only tickets made after this one (``--follow``)
    before: tuple[str, int] | None = None  # (received_at, seq): only tickets listed after it, newest first

    def where(self) -> tuple[str, list[object]]:
        """The WHERE clause and its parameters (never a value in the SQL text)."""
        terms: list[str] = []
        params: list[object] = []
        for name in _EQUAL:
            if (value := getattr(self, name)) is not None:
                terms.append(f"{name} = ?")
                params.append(value)
        if self.category is not None:
            terms.append("lower(category) = lower(?)")
            params.append(self.category)
        if self.area is not None:
            terms.append(
                "(phone IN (SELECT phone FROM contacts WHERE area = ?)"
                " OR account IN (SELECT account FROM contacts WHERE area = ? AND account IS NOT NULL))"
            )
            params += [self.area, self.area]
        if self.since is not None:
            terms.append("received_at >= ?")
            params.append(self.since)
        if self.until is not None:
            terms.append("received_at < ?")
            params.append(self.until)
        if self.search is not None:
            terms.append("instr(fold_text(text), ?) > 0")
            params.append(self.search)
        if self.after_seq is not None:
            terms.append("seq > ?")
            params.append(self.after_seq)
        if self.before is not None:  # the next page of a newest-first list (the API's cursor)
            terms.append("(received_at < ? OR (received_at = ? AND seq < ?))")
            params += [self.before[0], self.before[0], self.before[1]]
        return " AND ".join(terms) or "1 = 1", params


def tickets(
    path: Path,
    busy_timeout: float,
    *,
    status: str | None = None,
    limit: int,
    sync_status: str | None = None,
    where: TicketFilter | None = None,
    oldest_first: bool = False,
) -> list[TicketRow] | None:
    """The newest ``limit`` tickets (with this ``status`` and CRM ``sync_status``, if given, and
    as ``where`` narrows them), as :meth:`Store.tickets <gateway.store.queries.QueriesMixin.tickets>`
    returns them; with ``oldest_first``, the oldest ``limit`` in the order they were made. None
    when this database is not one to read this way (see the module's docstring)."""
    query = where or TicketFilter()
    if status is not None or sync_status is not None:
        query = replace(query, status=status or query.status, sync_status=sync_status or query.sync_status)
    clause, params = query.where()
    order = "seq" if oldest_first else "received_at DESC, seq DESC"
    sql = f"SELECT * FROM tickets WHERE {clause} ORDER BY {order} LIMIT ?"
    conn = _open(path, busy_timeout)
    if conn is None:
        return None
    try:
        if query.search is not None:
            fold = query.fold or str.casefold
            conn.create_function("fold_text", 1, lambda text: fold(text or ""), deterministic=True)
        rows = conn.execute(sql, [*params, limit]).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return [TicketRow(**{name: row[name] for name in _TICKET_COLUMNS}) for row in rows]


def last_ticket_seq(path: Path, busy_timeout: float) -> int | None:
    """The ``seq`` of the newest ticket (0 when there is none); None as :func:`tickets` says."""
    conn = _open(path, busy_timeout)
    if conn is None:
        return None
    try:
        (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM tickets").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return int(seq)


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
