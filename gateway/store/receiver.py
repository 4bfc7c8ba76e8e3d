"""The reference CRM receiver's own SQLite file (``gateway crm-stub``): tickets it holds,
status updates it serves, the desk's events it received, each ticket's status, and its counters.

Blocking (the receiver answers from HTTP threads) and not thread-safe by itself: the
receiver holds its lock around every call. What to store is decided by the receiver
(:mod:`gateway.crm.receiver`); this module only reads and writes rows.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from gateway.exceptions import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    id           TEXT NOT NULL UNIQUE,
    site         TEXT NOT NULL,
    ref          TEXT,
    repeat_count INTEGER NOT NULL DEFAULT 0,
    pushes       INTEGER NOT NULL DEFAULT 1,
    ticket       TEXT NOT NULL,                      -- the JSON as received
    received_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,     -- the cursor
    site      TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    update_   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    id          TEXT NOT NULL UNIQUE,               -- the gateway's event id: held once
    site        TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    applied     INTEGER NOT NULL,                   -- a status event that set the ticket's status
    pushes      INTEGER NOT NULL DEFAULT 1,
    event       TEXT NOT NULL,                      -- the JSON as received
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_status (
    ticket_id TEXT PRIMARY KEY,
    status    TEXT NOT NULL,
    at        TEXT NOT NULL,                        -- when the side that set it made the change
    by        TEXT NOT NULL                         -- crm, or the desk's user
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outage_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    id          TEXT NOT NULL UNIQUE,               -- the gateway's event id: held once
    site        TEXT NOT NULL,
    outage_id   TEXT NOT NULL,
    pushes      INTEGER NOT NULL DEFAULT 1,
    event       TEXT NOT NULL,                      -- the JSON as received
    received_at TEXT NOT NULL
);
"""


class ReceiverStore:
    def __init__(self, path: Path) -> None:
        """Open (or create) the receiver's file; :class:`StoreError` when SQLite cannot."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the receiver's database {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """The calls inside commit together, or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ tickets

    def find_ticket(self, id_or_ref: str) -> tuple[str, str] | None:
        """(site, id) of the newest ticket with this id or ref."""
        row = self._db.execute(
            "SELECT site, id FROM tickets WHERE id = ? OR ref = ? ORDER BY seq DESC", (id_or_ref, id_or_ref)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def ticket_sites(self) -> dict[str, str]:
        """Ticket id -> its site, for every ticket held."""
        return {str(i): str(s) for i, s in self._db.execute("SELECT id, site FROM tickets")}

    def held(self, ticket_id: str) -> tuple[int, int] | None:
        """(arrival seq, repeat_count) of a ticket held, or None."""
        row = self._db.execute("SELECT seq, repeat_count FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def add_ticket(self, ticket_id: str, site: str, ref: str | None, repeats: int, doc: str, at: str) -> int:
        """Keep a new ticket (``doc``: its JSON as received); returns its arrival seq."""
        cur = self._db.execute(
            "INSERT INTO tickets (id, site, ref, repeat_count, ticket, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (ticket_id, site, ref, repeats, doc, at),
        )
        return int(cur.lastrowid or 0)

    def repush(self, ticket_id: str, repeats: int | None = None, doc: str | None = None) -> None:
        """Count one more push of a ticket held; with ``repeats``, keep its newer count and JSON."""
        if repeats is None:
            self._db.execute("UPDATE tickets SET pushes = pushes + 1 WHERE id = ?", (ticket_id,))
        else:
            self._db.execute(
                "UPDATE tickets SET repeat_count = ?, pushes = pushes + 1, ticket = ? WHERE id = ?",
                (repeats, doc, ticket_id),
            )

    def tickets(self) -> list[tuple[str, int, int]]:
        """(JSON as received, pushes, arrival seq) of every ticket, in arrival order."""
        rows = self._db.execute("SELECT ticket, pushes, seq FROM tickets ORDER BY seq").fetchall()
        return [(str(t), int(p), int(s)) for t, p, s in rows]

    def ticket_count(self) -> int:
        (n,) = self._db.execute("SELECT COUNT(*) FROM tickets").fetchone()
        return int(n)

    # ------------------------------------------------------------------ updates

    def add_updates(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """Queue (site, ticket id, update JSON) rows; returns the last cursor position."""
        self._db.executemany("INSERT INTO updates (site, ticket_id, update_) VALUES (?, ?, ?)", rows)
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM updates").fetchone()
        return int(last)

    def updates_after(self, site: str, after: int, limit: int) -> list[tuple[int, str]]:
        """(cursor, update JSON) of ``site``'s updates after ``after``, in order."""
        rows = self._db.execute(
            "SELECT seq, update_ FROM updates WHERE site = ? AND seq > ? ORDER BY seq LIMIT ?", (site, after, limit)
        ).fetchall()
        return [(int(seq), str(u)) for seq, u in rows]

    # ------------------------------------------------------------------ events and status

    def event_held(self, event_id: str) -> bool:
        """Whether the event is held; if so, one more push of it is counted."""
        cur = self._db.execute("UPDATE events SET pushes = pushes + 1 WHERE id = ?", (event_id,))
        return cur.rowcount > 0

    def add_event(self, event_id: str, site: str, ticket_id: str, applied: bool, doc: str, at: str) -> None:
        self._db.execute(
            "INSERT INTO events (id, site, ticket_id, applied, event, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, site, ticket_id, int(applied), doc, at),
        )

    def events(self) -> list[tuple[str, int, bool]]:
        """(JSON as received, pushes, applied) of every event, in arrival order."""
        rows = self._db.execute("SELECT event, pushes, applied FROM events ORDER BY seq").fetchall()
        return [(str(e), int(p), bool(a)) for e, p, a in rows]

    def outage_event_held(self, event_id: str) -> bool:
        """Whether the outage event is held; if so, one more push of it is counted."""
        cur = self._db.execute("UPDATE outage_events SET pushes = pushes + 1 WHERE id = ?", (event_id,))
        return cur.rowcount > 0

    def add_outage_event(self, event_id: str, site: str, outage_id: str, doc: str, at: str) -> None:
        self._db.execute(
            "INSERT INTO outage_events (id, site, outage_id, event, received_at) VALUES (?, ?, ?, ?, ?)",
            (event_id, site, outage_id, doc, at),
        )

    def outage_events(self) -> list[tuple[str, int]]:
        """(JSON as received, pushes) of every outage event, in arrival order."""
        rows = self._db.execute("SELECT event, pushes FROM outage_events ORDER BY seq").fetchall()
        return [(str(e), int(p)) for e, p in rows]

    def status_of(self, ticket_id: str) -> tuple[str, str, str] | None:
        """(status, when it was set, by whom) of a ticket, None while neither side set one."""
        row = self._db.execute("SELECT status, at, by FROM ticket_status WHERE ticket_id = ?", (ticket_id,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def set_status(self, ticket_id: str, status: str, at: str, by: str) -> None:
        self._db.execute(
            """INSERT INTO ticket_status (ticket_id, status, at, by) VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id)
               DO UPDATE SET status = excluded.status, at = excluded.at, by = excluded.by""",
            (ticket_id, status, at, by),
        )

    # ------------------------------------------------------------------ counters

    def count(self, **deltas: int) -> None:
        self._db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            [(k, v, v) for k, v in deltas.items() if v],
        )

    def counters(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._db.execute("SELECT name, value FROM counters")}
