"""The reference receiver's ``POST /ticket-events`` (protocol v1): the desk's changes.

Each event is held once by its id (a second push is answered ``duplicate``), every one is
kept in the ticket's history, and a status event sets the CRM's status only when the desk
made it later than the status the CRM holds was made (the both-changed rule,
:func:`gateway.crm.events_protocol.desk_change_stands`): a status the CRM set later stays,
and the event is still kept (``"applied": false``). Called with the receiver's lock held,
inside one transaction of its database.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.crm.events_protocol import desk_change_stands, parse_time
from gateway.store.receiver import ReceiverStore

REQUIRED = ("id", "ticket_id", "type", "at", "by")
TYPES = ("status", "note", "assign", "reply")


NOT_A_BATCH = {"error": 'expected {"site": ..., "batch_id": ..., "events": [...]}'}


def read_batch(body: bytes) -> tuple[str, list[Any]] | None:
    """(site, events) of a batch of events (``/ticket-events``, ``/outages``); None when the
    body is not one (answered 400 with :data:`NOT_A_BATCH`)."""
    try:
        doc = json.loads(body)
        site, events = doc["site"], doc["events"]
    except (ValueError, KeyError, TypeError):
        return None
    return (site, events) if isinstance(site, str) and isinstance(events, list) else None


def take_events(db: ReceiverStore, body: bytes, now: str) -> tuple[int, dict[str, Any], dict[str, int]]:
    """The status and JSON to answer a batch of events, and the counters to add."""
    batch = read_batch(body)
    if batch is None:
        return 400, NOT_A_BATCH, {}
    site, events = batch
    counts = {"events_accepted": 0, "events_duplicates": 0, "events_rejected": 0, "events_not_applied": 0}
    results = [_take(db, e, site, now, counts) for e in events]
    return 200, {"results": results}, counts


def _take(db: ReceiverStore, e: Any, site: str, now: str, counts: dict[str, int]) -> dict[str, Any]:
    if not isinstance(e, dict):
        counts["events_rejected"] += 1
        return {"id": None, "status": "rejected", "error": "not an object"}
    eid = e.get("id")
    error = _invalid(e)
    if error is None and db.event_held(str(eid)):
        counts["events_duplicates"] += 1
        return {"id": eid, "status": "duplicate"}
    if error is None and db.held(e["ticket_id"]) is None:
        error = f"ticket {e['ticket_id']} is not in the CRM"
    if error is not None:
        counts["events_rejected"] += 1
        return {"id": eid, "status": "rejected", "error": error}
    tid, applied = str(e["ticket_id"]), False
    if e["type"] == "status":
        current = db.status_of(tid)
        if current is None or desk_change_stands(current[1], e["at"]):
            db.set_status(tid, e["to"], e["at"], e["by"])
            applied = True
        else:
            counts["events_not_applied"] += 1
    db.add_event(str(eid), site, tid, applied, json.dumps(e, ensure_ascii=False), now)
    counts["events_accepted"] += 1
    return {"id": eid, "status": "accepted", **({"applied": applied} if e["type"] == "status" else {})}


def _invalid(e: dict[str, Any]) -> str | None:
    missing = [k for k in REQUIRED if not isinstance(e.get(k), str) or not e.get(k)]
    if missing:
        return f"missing {', '.join(missing)}"
    if e["type"] not in TYPES:
        return f"unknown type {e['type']!r} (expected one of {', '.join(TYPES)})"
    if parse_time(e["at"]) is None:
        return f"at {e['at']!r} is not an ISO-8601 time"
    if e["type"] == "status" and (not isinstance(e.get("to"), str) or not e["to"]):
        return "a status event needs to"
    return None
