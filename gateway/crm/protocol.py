"""CRM sync protocol v1 (pure): signatures, request bodies, and what the CRM's answers mean.

The wire format is specified in ``docs/crm-sync.md``; :mod:`gateway.crm.client`
speaks it over HTTP, :mod:`gateway.crm.sync` runs the loop, :mod:`gateway.crm.receiver`
is the reference receiver. Nothing here does I/O, so every rule about which
answer marks a ticket synced, which is retried and which splits a batch is
tested on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from gateway.conversation.text import strip_controls
from gateway.store.rows import PushResult, StatusUpdate

SIGNATURE_HEADER = "X-Gateway-Signature"
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RESULT_STATUSES = ("accepted", "duplicate", "rejected")
# 4xx answers that say nothing about the tickets: a wrong token, URL or method. Splitting
# the batch would only get every ticket "rejected"; these are retried until fixed.
NOT_ABOUT_THE_TICKETS = frozenset({401, 403, 404, 405, 407, 421})
# 409: with an Idempotency-Key, "a request with this key is still being processed" (after a
# timeout, our retry can overtake the first attempt); retrying the same batch is right
RETRYABLE = frozenset({408, 409, 425, 429})
MAX_ERROR_TEXT = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=HEX``: HMAC-SHA256 with ``secret`` over ``TIMESTAMP + "." + BODY``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300.0) -> bool:
    """The receiver's check: the signature matches and the timestamp is within ``tolerance``
    seconds of ``now`` (a captured request cannot be replayed later)."""
    try:
        skew = abs(now - int(timestamp))
    except ValueError:
        return False
    return skew <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), header)


def request_headers(*, token: str, secret: str, body: bytes, now: float, batch_id: str | None = None) -> dict[str, str]:
    """Headers for one request: auth, timestamp, signature (when a secret is set), idempotency key."""
    timestamp = str(int(now))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    if batch_id is not None:
        headers[IDEMPOTENCY_HEADER] = batch_id
    return headers


def push_body(site: str, batch_id: str, tickets: Sequence[Mapping[str, Any]]) -> bytes:
    """The bytes of ``POST /tickets``: UTF-8 JSON, Persian and Arabic kept as text."""
    doc = {"site": site, "batch_id": batch_id, "tickets": list(tickets)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class PushAnswer:
    """What to do after ``POST /tickets``.

    ``results``: per-ticket outcomes (tickets the CRM did not mention stay queued);
    ``retry``: send the same batch again later, not before ``retry_after`` seconds when the
    CRM said so; ``split``: the CRM refused the batch as a whole -- send its halves to find
    the ticket it refuses (a batch of one is then that ticket's rejection).
    """

    kind: Literal["results", "retry", "split"]
    results: tuple[PushResult, ...] = ()
    retry_after: float | None = None
    reason: str = ""
    unmentioned: tuple[str, ...] = field(default=())


def read_push_answer(
    status: int, body: bytes, headers: Mapping[str, str], ids: Sequence[str], *, now: datetime | None = None
) -> PushAnswer:
    """Classify the CRM's answer to a batch of ``ids``. Never raises."""
    if 200 <= status < 300:
        return _results(body, ids)
    reason = f"HTTP {status}" + (f": {_snippet(body)}" if body.strip() else "")
    if status in RETRYABLE or status >= 500:
        return PushAnswer("retry", retry_after=retry_after_seconds(headers.get("retry-after"), now), reason=reason)
    if 400 <= status < 500 and status not in NOT_ABOUT_THE_TICKETS:
        return PushAnswer("split", reason=reason)
    # 3xx (a moved URL), 401/403 (token), 404/405 (wrong url): configuration, not the tickets
    return PushAnswer("retry", reason=f"{reason} -- check [crm] url and token")


def _results(body: bytes, ids: Sequence[str]) -> PushAnswer:
    if not body.strip():
        return PushAnswer("results", tuple(PushResult(i, "accepted") for i in ids))
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # a captive portal or proxy answering 200 with a web page: nothing was acknowledged
        return PushAnswer("retry", reason=f"2xx answer is not JSON: {_snippet(body)}")
    items = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return PushAnswer("retry", reason='2xx answer has no "results" list')
    wanted = set(ids)
    seen: dict[str, PushResult] = {}
    for item in items:
        result = _result(item)
        if result is not None and result.id in wanted and result.id not in seen:
            seen[result.id] = result
    unmentioned = tuple(i for i in ids if i not in seen)
    ordered = tuple(seen[i] for i in ids if i in seen)
    return PushAnswer("results", ordered, reason="", unmentioned=unmentioned)


def _result(item: Any) -> PushResult | None:
    if not isinstance(item, dict):
        return None
    tid, status = item.get("id"), item.get("status")
    if not isinstance(tid, str) or status not in RESULT_STATUSES:
        return None
    crm_id = item.get("crm_id")
    error = item.get("error")
    return PushResult(
        tid,
        status,
        crm_id=str(crm_id) if crm_id is not None else None,
        error=_text(error) if error is not None else (None if status != "rejected" else "rejected by the CRM"),
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class UpdatesPage:
    updates: tuple[StatusUpdate, ...]
    cursor: str | None
    skipped: int = 0  # entries without an id and a status


def read_updates(body: bytes) -> UpdatesPage:
    """Parse ``GET /updates``. Raises :class:`ValueError` when the page as a whole is
    unusable (then the cursor must not move); single bad entries are skipped and counted."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {_snippet(body)}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("updates", []), list):
        raise ValueError('expected {"updates": [...], "cursor": ...}')
    cursor = doc.get("cursor")
    if cursor is not None and not isinstance(cursor, str | int):
        raise ValueError("cursor must be a string")
    updates: list[StatusUpdate] = []
    skipped = 0
    for item in doc.get("updates", []):
        update = _update(item)
        if update is None:
            skipped += 1
        else:
            updates.append(update)
    return UpdatesPage(tuple(updates), None if cursor is None else str(cursor), skipped)


def _update(item: Any) -> StatusUpdate | None:
    if not isinstance(item, dict):
        return None
    tid, status = item.get("id"), item.get("status")
    if not isinstance(tid, str) or not tid or not isinstance(status, str) or not status.strip():
        return None
    note = item.get("note")
    raw = item.get("message")
    if not isinstance(raw, dict):
        raw = {}
    texts = {k: strip_controls(v).strip() for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
    message = {k: v for k, v in texts.items() if v}
    changed_at = item.get("changed_at")
    return StatusUpdate(
        tid,
        status.strip(),
        note=_text(note) if note is not None else None,
        notify=item.get("notify") is True,
        message=message,
        changed_at=_text(changed_at) if isinstance(changed_at, str) and changed_at.strip() else None,
    )


def _snippet(body: bytes) -> str:
    return _text(body.decode("utf-8", "replace"))


def _text(value: Any) -> str:
    """The CRM's words for an operator: one line, no control characters (no terminal escapes)."""
    text = " ".join(strip_controls(str(value)).split())
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 3] + "..."
