"""The counts behind ``gateway stats`` and the Prometheus endpoint, read from the file.

Blocking and read-only on purpose: the metrics exporter reads from its own thread and
``gateway stats`` must work on a file it may not write (a daemon running as another
user), so neither opens a :class:`~gateway.store.Store` (which migrates). Every count
comes from one read transaction, so the numbers agree with each other.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gateway.store.base import LANES, read_only, unreadable
from gateway.store.rows import StatsRows


def stats_rows(path: Path, busy_timeout: float = 10.0) -> StatsRows:
    """Every count at once, from one snapshot of the file. Raises
    :class:`~gateway.exceptions.DatabaseMissing`, ``DatabaseCorrupt`` or ``DatabaseUnreadable``."""
    try:
        conn = read_only(path, busy_timeout)
        try:
            conn.execute("BEGIN")
            try:
                return _read(conn)
            finally:
                conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from None


def sim_status_rows(path: Path, busy_timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """What the daemon last published about each SIM (``sim_status``), by modem id."""
    try:
        conn = read_only(path, busy_timeout)
        try:
            return {r["modem_id"]: dict(r) for r in conn.execute("SELECT * FROM sim_status")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from None


def _read(conn: sqlite3.Connection) -> StatsRows:
    received = {
        r["modem_id"]: r["n"]
        for r in conn.execute("SELECT modem_id, COUNT(*) n FROM messages GROUP BY modem_id ORDER BY modem_id")
    }
    outbox = [
        {"sim": r["sim"], "lane": r["lane"], "status": r["status"], "messages": r["n"]}
        for r in conn.execute(
            """SELECT COALESCE(modem_id, '') sim, lane, status, COUNT(*) n FROM outbox
               GROUP BY sim, lane, status ORDER BY sim, lane, status"""
        )
    ]
    send_errors = []
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'send_errors'").fetchone():  # schema 7 on
        send_errors = [
            {"sim": r["modem_id"], "code": r["code"], "errors": r["count"]}
            for r in conn.execute("SELECT modem_id, code, count FROM send_errors ORDER BY modem_id, code")
        ]
    queued = dict.fromkeys(LANES, 0)
    for r in conn.execute("SELECT lane, COUNT(*) n FROM outbox WHERE status = 'queued' GROUP BY lane"):
        queued[r["lane"]] = r["n"]
    (held,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'held'").fetchone()
    (oldest_queued,) = conn.execute("SELECT MIN(created_at) FROM outbox WHERE status = 'queued'").fetchone()
    tickets = {
        r["category"]: r["n"]
        for r in conn.execute("SELECT category, COUNT(*) n FROM tickets GROUP BY category ORDER BY category")
    }
    sync_counts = {str(k): int(v) for k, v in conn.execute("SELECT sync_status, COUNT(*) FROM tickets GROUP BY 1")}
    (oldest_unsynced,) = conn.execute("SELECT MIN(received_at) FROM tickets WHERE sync_status = 'queued'").fetchone()
    sync_state = {str(k): v for k, v in conn.execute("SELECT key, value FROM sync_state")}
    sims = [dict(r) for r in conn.execute("SELECT * FROM sim_status ORDER BY modem_id")]
    return StatsRows(
        received=received,
        outbox=outbox,
        send_errors=send_errors,
        queued=queued,
        held=int(held),
        oldest_queued=oldest_queued,
        tickets=tickets,
        sync_counts=sync_counts,
        oldest_unsynced=oldest_unsynced,
        sync_state=sync_state,
        sims=sims,
    )
