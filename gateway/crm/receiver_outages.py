"""The reference receiver's ``POST /outages`` (protocol v1): outages and their stages.

Each event (a stage: declared, update, restored, cancelled) is held once by its id (a second
push is answered ``duplicate``) and kept with the outage it belongs to. Called with the
receiver's lock held, inside one transaction of its database.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.crm.events_protocol import parse_time
from gateway.crm.receiver_events import NOT_A_BATCH, read_batch
from gateway.store.receiver import ReceiverStore

REQUIRED = ("id", "outage_id", "type", "at", "by", "status")
TYPES = ("declared", "update", "restored", "cancelled")


def take_outages(db: ReceiverStore, body: bytes, now: str) -> tuple[int, dict[str, Any], dict[str, int]]:
    """The status and JSON to answer a batch of outage events, and the counters to add."""
    batch = read_batch(body)
    if batch is None:
        return 400, NOT_A_BATCH, {}
    site, events = batch
    counts = {"outage_events_accepted": 0, "outage_events_duplicates": 0, "outage_events_rejected": 0}
    results = [_take(db, e, site, now, counts) for e in events]
    return 200, {"results": results}, counts


def _take(db: ReceiverStore, e: Any, site: str, now: str, counts: dict[str, int]) -> dict[str, Any]:
    if not isinstance(e, dict):
        counts["outage_events_rejected"] += 1
        return {"id": None, "status": "rejected", "error": "not an object"}
    eid = e.get("id")
    error = _invalid(e)
    if error is None and db.outage_event_held(str(eid)):
        counts["outage_events_duplicates"] += 1
        return {"id": eid, "status": "duplicate"}
    if error is not None:
        counts["outage_events_rejected"] += 1
        return {"id": eid, "status": "rejected", "error": error}
    db.add_outage_event(str(eid), site, str(e["outage_id"]), json.dumps(e, ensure_ascii=False), now)
    counts["outage_events_accepted"] += 1
    return {"id": eid, "status": "accepted"}


def _invalid(e: dict[str, Any]) -> str | None:
    missing = [k for k in REQUIRED if not isinstance(e.get(k), str) or not e.get(k)]
    if missing:
        return f"missing {', '.join(missing)}"
    if e["type"] not in TYPES:
        return f"unknown type {e['type']!r} (expected one of {', '.join(TYPES)})"
    if parse_time(e["at"]) is None:
        return f"at {e['at']!r} is not an ISO-8601 time"
    if not isinstance(e.get("areas"), list):
        return "areas must be a list"
    return None
