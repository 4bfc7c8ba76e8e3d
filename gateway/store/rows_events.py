"""The journal's rows: an event, a webhook and how its deliveries stand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventRow:
    seq: int  # the order within this database
    id: str  # SITE-ULID, what receivers see (X-Gateway-Event-Id)
    type: str
    created_at: str
    data: str  # JSON, as written

    def body(self) -> bytes:
        """The webhook body and the event stream's ``data:``: ``{"id", "type", "created_at", "data"}``."""
        head = json.dumps({"id": self.id, "type": self.type, "created_at": self.created_at}, ensure_ascii=False)
        return (head[:-1] + ', "data": ' + self.data + "}").encode("utf-8")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "created_at": self.created_at, "data": json.loads(self.data)}


@dataclass(frozen=True)
class WebhookRow:
    """A receiver and where its deliveries stand: every subscribed event up to ``after_seq`` is
    delivered; the next one has been tried ``attempts`` times since ``failing_since``."""

    id: int
    url: str
    events: str  # comma-separated types
    secret: str  # never shown, never logged
    created_at: str
    after_seq: int
    status: str  # active | dead
    attempts: int
    failing_since: str | None
    next_attempt_at: str | None
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None
    created_by: str | None = None  # who added it (the audit log's name); None: before migration 11
    created_by_kind: str | None = None  # local | user | token

    def owned_by(self, name: str, kind: str) -> bool:
        """Did the user or token ``name`` add it (an integration manages only those)?"""
        return (self.created_by, self.created_by_kind) == (name, kind)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.events.split(","))

    def as_json(self, backlog: int) -> dict[str, Any]:
        """``webhooks list --json``: no secret."""
        return {
            "id": self.id, "url": self.url, "events": list(self.types), "status": self.status,
            "backlog": backlog, "attempts": self.attempts, "failing_since": self.failing_since,
            "next_attempt_at": self.next_attempt_at, "last_success_at": self.last_success_at,
            "last_error": self.last_error, "last_error_at": self.last_error_at, "created_at": self.created_at,
            "created_by": self.created_by, "created_by_kind": self.created_by_kind,
        }  # fmt: skip
