"""CRM sync protocol v1, the desk's side (pure): ``POST /ticket-events`` -- the local changes
to a ticket (status, note, assignment, reply) as events, and who wins when the CRM and the
desk both changed a ticket while apart. Specified in ``docs/crm-sync.md``.

An event's id is the site and its history row (``12-h41``): the same change always goes
under the same id, also after a crash, so the CRM answers ``duplicate`` and keeps it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.store.ticket_events import EventRow


def event_id(site: str, history_id: int) -> str:
    return f"{site}-h{history_id}"


def batch_id(site: str, ids: Sequence[str]) -> str:
    """The Idempotency-Key of a batch: the same events give the same key (and the same body)."""
    digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:26]
    return f"{site}-e{digest}"


def event_doc(site: str, row: EventRow) -> dict[str, Any]:
    """One event as the CRM receives it."""
    doc: dict[str, Any] = {
        "id": event_id(site, row.history_id),
        "ticket_id": row.ticket_id,
        "crm_id": row.crm_id,
        "type": row.action,
        "at": row.at,
        "by": row.actor,
    }
    if row.action in ("status", "assign"):
        doc["from"], doc["to"] = row.old_value, row.new_value
    if row.action in ("status", "note"):
        doc["note"] = row.note
    if row.action == "reply":
        doc["text"], doc["template"] = row.text, row.new_value
    return doc


def events_body(site: str, docs: Sequence[dict[str, Any]]) -> tuple[str, bytes]:
    """(batch id, the bytes of ``POST /ticket-events``): UTF-8 JSON, Persian and Arabic as text."""
    bid = batch_id(site, [d["id"] for d in docs])
    doc = {"site": site, "batch_id": bid, "events": list(docs)}
    return bid, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Plan:
    """What to do with the events read after the cursor: ``send`` them, give up on
    ``unsendable`` (their ticket was rejected by the CRM: history id, reason), and whether
    the rest ``waits`` for its ticket to reach the CRM."""

    send: tuple[EventRow, ...]
    unsendable: tuple[tuple[int, str], ...]
    waits: bool


def plan(rows: Sequence[EventRow]) -> Plan:
    """Events go in history order, each after its ticket: the first event whose ticket the
    CRM has not received yet (queued, or in a batch without an answer) stops the batch there,
    and the events after it wait with it. An event of a ticket the CRM rejected cannot go: it
    is kept as rejected (``gateway sync retry-rejected`` queues both again)."""
    send: list[EventRow] = []
    unsendable: list[tuple[int, str]] = []
    for row in rows:
        if row.held:
            send.append(row)
        elif row.ticket_sync == "rejected":
            unsendable.append((row.history_id, f"its ticket was rejected by the CRM: {row.ticket_error or '-'}"))
        elif row.retry:
            continue  # a retried event whose ticket is queued again: it waits, the others go on
        else:
            return Plan(tuple(send), tuple(unsendable), True)
    return Plan(tuple(send), tuple(unsendable), False)


def new_cursor(rows: Sequence[EventRow], settled: set[int]) -> int | None:
    """The last history id of the unbroken run of settled events after the cursor (retried
    ones aside): the cursor moves over what the CRM answered for, never past a gap."""
    cursor = None
    for row in rows:
        if row.retry:
            continue
        if row.history_id not in settled:
            break
        cursor = row.history_id
    return cursor


def desk_change_stands(crm_changed_at: str | None, desk_changed_at: str | None) -> bool:
    """The both-changed rule: a status the CRM set is overruled by the desk's status change
    only when the desk made its change strictly later (by the clocks of the two sides). An
    update without ``changed_at`` (a CRM that does not send it) always applies, and at equal
    times the CRM, the system of record, wins."""
    crm_at, desk_at = parse_time(crm_changed_at), parse_time(desk_changed_at)
    return crm_at is not None and desk_at is not None and desk_at > crm_at


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 time (``Z`` allowed; without a zone: UTC), or None when absent or unreadable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
