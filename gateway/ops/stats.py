"""The gateway's numbers, read from the database: ``gateway stats`` and the Prometheus endpoint.

One function reads them (:func:`snapshot`, from one read-only snapshot of the
file; the daemon keeps writing), so the command and the metrics always agree. Labels are SIM ids, lanes, ticket
categories and +CMS codes -- never a phone number or a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.store.file_views import StatsReader

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
    outage_suggested: dict[str, int] = field(default_factory=dict)  # area -> phones: declare an outage?

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
            "outage_suggested": self.outage_suggested,
        }


def snapshot(reader: StatsReader, now: datetime | None = None) -> Snapshot:
    """Every number at once, from one read of the database (so they agree with each other)."""
    now = now or datetime.now(UTC)
    rows = reader.stats_rows()
    counts = rows.sync_counts
    return Snapshot(
        at=now.isoformat(timespec="seconds"),
        received=rows.received,
        outbox=rows.outbox,
        send_errors=rows.send_errors,
        queue={**rows.queued, "broadcast_held": rows.held},
        oldest_queued_s=_age(rows.oldest_queued, now),
        tickets=rows.tickets,
        sync={
            "queued": counts.get("queued", 0),
            "synced": counts.get("synced", 0),
            "rejected": counts.get("rejected", 0),
            "oldest_unsynced_s": _age(rows.oldest_unsynced, now),
            "link": rows.sync_state.get("link", "unknown"),
            "last_success_at": rows.sync_state.get("last_success_at"),
        },
        sims=[_sim(r, now) for r in rows.sims],
        outage_suggested=_suggested(rows.sync_state.get("outage_suggested"), now),
    )


def _suggested(raw: object, now: datetime) -> dict[str, int]:
    """The early warning's last finding (gateway.inbound.routing), while its window lasts."""
    try:
        doc = json.loads(str(raw)) if raw else {}
        at = datetime.fromisoformat(doc["at"]) if doc else None
        if at is None or (now - at).total_seconds() > float(doc["window_s"]):
            return {}
        return {str(k): int(v) for k, v in doc["areas"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


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
