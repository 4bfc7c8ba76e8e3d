"""The ticket row: the contract the desk, ``--json``, the CRM push and the export share.

Apart from the other rows so that reading tickets (:mod:`gateway.store.reader`, ``gateway
tickets list``) does not create every row class of the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SYNC_FIELDS = ("synced_at", "crm_id", "sync_status", "sync_error")  # the gateway's own bookkeeping


@dataclass(frozen=True)
class TicketRow:
    id: str
    ref: str
    seq: int
    site: str
    phone: str
    category: str
    code: str
    account: str | None
    text: str
    language: str
    status: str
    received_at: str
    modem: str | None
    message_id: int | None
    synced_at: str | None
    crm_id: str | None
    repeat_count: int = 0
    last_repeat_at: str | None = None
    sync_status: str = "queued"  # queued | synced | rejected
    sync_error: str | None = None
    crm_note: str | None = None
    status_changed_at: str | None = None
    assigned_to: str | None = None  # a local user's name (the desk); not part of the CRM push

    JSON_FIELDS = (
        "id",
        "ref",
        "site",
        "phone",
        "category",
        "code",
        "account",
        "text",
        "language",
        "status",
        "received_at",
        "modem",
        "synced_at",
        "crm_id",
        "repeat_count",
        "sync_status",
        "sync_error",
    )
    # what the CRM receives (docs/crm-sync.md): the ticket without the gateway's own sync fields
    PUSH_FIELDS = tuple(f for f in JSON_FIELDS if f not in _SYNC_FIELDS)

    def as_json(self) -> dict[str, Any]:
        """The ticket JSON contract (DESIGN.md), as the CLI's ``--json`` shows it."""
        return {name: getattr(self, name) for name in self.JSON_FIELDS}

    def as_push(self) -> dict[str, Any]:
        """The ticket as the CRM receives it."""
        return {name: getattr(self, name) for name in self.PUSH_FIELDS}


@dataclass(frozen=True)
class HistoryRow:
    """One change to a ticket: a status change, a note or an assignment, by ``crm`` or a local user."""

    id: int
    ticket_id: str
    at: str
    actor: str
    action: str  # status | note | assign
    old_value: str | None
    new_value: str | None
    note: str | None
    outbox_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "by": self.actor,
            "action": self.action,
            "from": self.old_value,
            "to": self.new_value,
            "note": self.note,
            "outbox_id": self.outbox_id,
        }
