"""Rows the store hands out and takes in: plain frozen dataclasses, no SQL. Broadcast rows
(campaigns, audiences, contacts) are in :mod:`gateway.store.rows_broadcast`, the ticket in
:mod:`gateway.store.rows_tickets`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class InboundItem:
    """One PDU from a SIM sweep, decoded as far as it would go."""

    memory: str
    index: int
    pdu: str
    kind: str  # sms | part | report | binary | undecodable
    sender: str | None = None
    alphanumeric: bool = False
    text: str | None = None
    sent_at: str | None = None
    concat: tuple[int, int, int] | None = None  # (reference, total, sequence)
    error: str | None = None


@dataclass(frozen=True)
class MessageRow:
    id: int
    modem_id: str
    sender: str
    alphanumeric: int
    text: str
    parts: int
    complete: int
    sent_at: str | None
    received_at: str
    state: str
    sender_kind: str | None
    phone: str | None
    action: str | None
    language: str | None
    ticket_id: str | None
    error: str | None


# an outbox row as ``--json`` (``gateway outbox list``), the API and the journal's events show it
OUTBOX_FIELDS = (
    "id",
    "lane",
    "status",
    "phone",
    "text",
    "modem_id",
    "parts",
    "parts_sent",
    "attempts",
    "last_error",
    "ticket_id",
    "created_at",
    "sent_at",
)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    phone: str
    text: str
    lane: str
    priority: int
    status: str
    modem_hint: str | None
    modem_id: str | None
    parts: int
    parts_sent: int
    refs: str | None
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    ticket_id: str | None
    message_id: int | None
    created_at: str
    claimed_at: str | None
    sent_at: str | None
    campaign_id: int | None = None
    run: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The row with the contract's field names (:data:`OUTBOX_FIELDS`)."""
        return {k: getattr(self, k) for k in OUTBOX_FIELDS}

    @property
    def concat_ref(self) -> int:
        """Stable per row, so parts resent after a failure join those already delivered."""
        return self.id % 256


@dataclass(frozen=True)
class NewTicket:
    category: str
    code: str
    account: str | None
    ref_for: Callable[[int], str]  # the reference customers type, from the ticket's sequence number
    outage: tuple[int, str] | None = None  # (outage id, linked | still_out): a report of a known outage


@dataclass(frozen=True)
class PartRow:
    """One stored part of a long message whose set is still open."""

    id: int
    seq: int
    total: int
    text: str | None
    sent_at: str | None
    received_at: str


@dataclass(frozen=True)
class Joined:
    """A message made of parts: a whole set, or what came of an incomplete one."""

    text: str
    part_ids: tuple[int, ...]  # the parts it is made of (their rows get its id)
    parts: int  # how many the set has
    complete: bool
    sent_at: str | None
    received_at: str


@dataclass(frozen=True)
class Assembly:
    """What one more part does to its open set (nothing set: it waits for the rest)."""

    duplicate: bool = False  # a copy of a part already there: kept as a duplicate, nothing else
    released: Joined | None = None  # the open set given up on: the sender's phone reused its reference
    complete: Joined | None = None  # the set (with the new part) is whole


Assemble = Callable[[Sequence[PartRow], PartRow], Assembly]  # the reassembly rule: open parts, new part
Release = Callable[[Sequence[PartRow]], Joined | None]  # what an incomplete set becomes


@dataclass(frozen=True)
class Outcome:
    """What routing decided for one message; ``reply`` builds the text once the ref is known."""

    sender_kind: str
    phone: str | None
    action: str
    language: str
    ticket: NewTicket | None = None
    merge_into: str | None = None  # a ticket id whose repeat count grows
    opt_out: bool | None = None  # True: STOP, False: START
    session: tuple[str, str | None] | None = None  # a menu step to remember: (step, code)
    end_session: bool = False
    reply: Callable[[str | None], str | None] | None = None


@dataclass(frozen=True)
class CustomerRow:
    phone: str
    language: str | None
    opted_out: int
    opted_out_at: str | None
    session_step: str | None
    session_code: str | None
    session_at: str | None
    updated_at: str


@dataclass(frozen=True)
class OnAir:
    """Parts that went out in one attempt: counted against the SIM's quota, and kept with
    their message references to match delivery reports."""

    modem_id: str
    day: str  # the SIM's quota day (local calendar day)
    lane: str
    first_part: int  # number of the first of these parts, from 1
    references: tuple[int, ...]  # +CMGS references, in part order
    parts: int  # parts on air in this attempt (one more than references if the last is unconfirmed)

    @property
    def refs_text(self) -> str:
        return ",".join(map(str, self.references))


@dataclass(frozen=True)
class StatsRows:
    """The counts ``gateway stats`` and the metrics show, as the database holds them."""

    received: dict[str, int]  # SIM -> customer SMS received
    outbox: list[dict[str, Any]]  # {sim, lane, status, messages}
    send_errors: list[dict[str, Any]]  # {sim, code, errors}
    queued: dict[str, int]  # lane -> rows queued (every lane, 0 when none)
    held: int  # broadcast rows held back (paused, outside their window)
    oldest_queued: str | None  # created_at of the oldest queued row
    tickets: dict[str, int]  # category -> tickets
    sync_counts: dict[str, int]  # sync_status -> tickets
    oldest_unsynced: str | None  # received_at of the oldest ticket not at the CRM
    sync_state: dict[str, Any]  # the sync_state table (link, last_success_at, cursor, ...)
    sims: list[dict[str, Any]]  # sim_status rows, by modem id


@dataclass(frozen=True)
class DeliveryUpdate:
    outbox_id: int
    part_status: str  # delivered | pending | failed
    message_status: str | None  # delivered / failed when the whole message is settled now


@dataclass(frozen=True)
class SimStatusRow:
    modem_id: str
    port: str | None
    state: str
    reason: str | None
    operator: str | None
    signal: int | None
    registration: int | None
    storage_used: int | None
    storage_total: int | None
    sent_today: int | None
    per_day: int | None
    queued: int | None
    last_error: str | None
    balance: str | None
    balance_currency: str | None
    balance_text: str | None
    balance_at: str | None
    low_balance: int
    updated_at: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UssdRequestRow:
    id: int
    modem_id: str
    request: str
    kind: str
    status: str
    response: str | None
    session_open: int | None
    error: str | None
    created_at: str
    done_at: str | None


@dataclass(frozen=True)
class BatchRow:
    id: str
    tickets: tuple[tuple[str, int], ...]  # (ticket id, repeat_count as pushed), in push order
    body: bytes
    attempts: int
    last_error: str | None
    created_at: str

    @property
    def ids(self) -> list[str]:
        return [t for t, _ in self.tickets]


@dataclass(frozen=True)
class LeaseTerms:
    """Who asks for the sync lease, for how long, and what "now" is for them.

    The lease runs out on the monotonic clock (shared by every process of one boot), so a
    step of the wall clock neither ends a lease under its holder nor keeps a stalled one;
    ``lease_until`` (wall) is written as well, for people and for another boot."""

    holder: str
    ttl: float  # seconds
    alive: Callable[[str], bool]  # whether another holder's process still runs
    now: datetime  # wall clock
    monotonic: float  # the caller's monotonic clock (time.monotonic() in the CLI)


@dataclass(frozen=True)
class UpdatesApplied:
    applied: int
    unknown: int  # updates naming a ticket this site does not have
    notices: tuple[int, ...]  # outbox ids of the SMS that tell customers
    superseded: int = 0  # updates older than the desk's own later status change: kept in the history only


@dataclass(frozen=True)
class PushResult:
    """What the CRM said about one ticket."""

    id: str
    status: Literal["accepted", "duplicate", "rejected"]
    crm_id: str | None = None
    error: str | None = None

    @property
    def synced(self) -> bool:
        return self.status in ("accepted", "duplicate")


@dataclass(frozen=True)
class StatusUpdate:
    """A status change the CRM made to one of this site's tickets. ``message`` and ``note``
    come without control characters or bidi overrides."""

    id: str
    status: str
    note: str | None = None
    notify: bool = False
    message: Mapping[str, str] = field(default_factory=dict)  # language -> text to send as is
    changed_at: str | None = None  # when the CRM made the change (ISO-8601), if it says
