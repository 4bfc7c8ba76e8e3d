"""The gateway's numbers, read from the database: ``gateway stats`` and the Prometheus endpoint.

One function reads them (a read-only snapshot; the daemon keeps writing), so
the command and the metrics always agree. Labels are SIM ids, lanes, ticket
categories and +CMS codes -- never a phone number or a message.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SENT = ("sent", "delivered", "unknown")


@dataclass
class Snapshot:
    at: str
    received: dict[str, int] = field(default_factory=dict)  # SIM -> customer SMS received
    outbox: list[dict[str, Any]] = field(default_factory=list)  # {sim, lane, status, messages}
    send_errors: list[dict[str, Any]] = field(default_factory=list)  # {sim, code, errors}: failed send attempts
    queue: dict[str, int] = field(default_factory=dict)  # lane -> queued (and broadcast rows held)
    oldest_queued_s: float | None = None
    tickets: dict[str, int] = field(default_factory=dict)  # category -> tickets
    sync: dict[str, Any] = field(default_factory=dict)
    sims: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "received": self.received,
            "outbox": self.outbox,
            "send_errors": self.send_errors,
            "queue": self.queue,
            "oldest_queued_s": self.oldest_queued_s,
            "tickets_by_category": self.tickets,
            "sync": self.sync,
            "sims": self.sims,
        }


def connect(database: Path, timeout: float = 10.0) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"file:{database}?mode=ro", uri=True, timeout=timeout, check_same_thread=False, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    return conn


def snapshot(conn: sqlite3.Connection, now: datetime | None = None) -> Snapshot:
    """Everything in one read transaction, so the numbers agree with each other."""
    now = now or datetime.now(UTC)
    snap = Snapshot(at=now.isoformat(timespec="seconds"))
    conn.execute("BEGIN")
    try:
        for r in conn.execute("SELECT modem_id, COUNT(*) n FROM messages GROUP BY modem_id ORDER BY modem_id"):
            snap.received[r["modem_id"]] = r["n"]
        for r in conn.execute(
            """SELECT COALESCE(modem_id, '') sim, lane, status, COUNT(*) n FROM outbox
               GROUP BY sim, lane, status ORDER BY sim, lane, status"""
        ):
            snap.outbox.append({"sim": r["sim"], "lane": r["lane"], "status": r["status"], "messages": r["n"]})
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'send_errors'").fetchone():  # schema 7 on
            for r in conn.execute("SELECT modem_id, code, count FROM send_errors ORDER BY modem_id, code"):
                snap.send_errors.append({"sim": r["modem_id"], "code": r["code"], "errors": r["count"]})
        snap.queue = {lane: 0 for lane in ("reply", "notification", "broadcast")}
        for r in conn.execute("SELECT lane, COUNT(*) n FROM outbox WHERE status = 'queued' GROUP BY lane"):
            snap.queue[r["lane"]] = r["n"]
        (held,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'held'").fetchone()
        snap.queue["broadcast_held"] = held
        (oldest,) = conn.execute("SELECT MIN(created_at) FROM outbox WHERE status = 'queued'").fetchone()
        snap.oldest_queued_s = _age(oldest, now)
        for r in conn.execute("SELECT category, COUNT(*) n FROM tickets GROUP BY category ORDER BY category"):
            snap.tickets[r["category"]] = r["n"]
        snap.sync = _sync(conn, now)
        snap.sims = [_sim(dict(r), now) for r in conn.execute("SELECT * FROM sim_status ORDER BY modem_id")]
        return snap
    finally:
        conn.execute("COMMIT")


def _sync(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    counts = {str(k): int(v) for k, v in conn.execute("SELECT sync_status, COUNT(*) FROM tickets GROUP BY 1")}
    (oldest,) = conn.execute("SELECT MIN(received_at) FROM tickets WHERE sync_status = 'queued'").fetchone()
    state = {str(k): v for k, v in conn.execute("SELECT key, value FROM sync_state")}
    return {
        "queued": counts.get("queued", 0),
        "synced": counts.get("synced", 0),
        "rejected": counts.get("rejected", 0),
        "oldest_unsynced_s": _age(oldest, now),
        "link": state.get("link", "unknown"),
        "last_success_at": state.get("last_success_at"),
    }


def _sim(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    per_day, sent = row.get("per_day"), row.get("sent_today")
    return {
        "sim": row["modem_id"],
        "state": row["state"],
        "signal": row.get("signal"),
        "registration": row.get("registration"),
        "operator": row.get("operator"),
        "sent_today": sent,
        "quota_left_today": None if per_day is None or sent is None else max(0, per_day - sent),
        "queued": row.get("queued"),
        "storage_used": row.get("storage_used"),
        "storage_total": row.get("storage_total"),
        "balance": _number(row.get("balance")),
        "balance_currency": row.get("balance_currency"),
        "low_balance": bool(row.get("low_balance")),
        "updated_s_ago": _age(row.get("updated_at"), now),
    }


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return round(max(0.0, (now - then).total_seconds()), 1)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
