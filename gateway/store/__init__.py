"""The SQLite queue: everything the gateway knows lives here (WAL, one writer).

Two connections per process: a writer, used inside ``BEGIN IMMEDIATE``
transactions one at a time (an asyncio lock), and a reader that only ever
sees committed rows. The CLI opens its own ``Store`` on the same file; the
file is the only interface between the CLI and the daemon.

Rules kept here (DESIGN.md): a received PDU is committed before the SIM copy
may be deleted; a message is routed at most once (``state`` guard); an outbox
row is ``sent`` only after ``+CMGS``; rows left ``sending`` by a crash are
queued again at start-up.
"""

from __future__ import annotations

from gateway.store.base import LANES, STORE_ERRORS, iso, stamp, utcnow
from gateway.store.campaigns import AudienceSpec, AudienceSummary, CampaignRow, CampaignsMixin, NewCampaign
from gateway.store.contacts import ContactRow, ContactsMixin
from gateway.store.inbox import InboundMixin
from gateway.store.maintenance import MaintenanceMixin
from gateway.store.outbox import OutboxMixin
from gateway.store.queries import QueriesMixin
from gateway.store.rows import InboundItem, MessageRow, NewTicket, OnAir, OutboxRow, Outcome, TicketRow
from gateway.store.sims import SimsMixin, SimStatusRow, UssdRequestRow
from gateway.store.sync import BatchRow, SyncMixin, UpdatesApplied


class Store(
    InboundMixin, OutboxMixin, SimsMixin, SyncMixin, ContactsMixin, CampaignsMixin, MaintenanceMixin, QueriesMixin
):
    """The gateway's database. Open with :meth:`Store.open`; close with :meth:`close` (or ``async with``)."""


__all__ = [
    "LANES",
    "STORE_ERRORS",
    "AudienceSpec",
    "AudienceSummary",
    "BatchRow",
    "CampaignRow",
    "ContactRow",
    "InboundItem",
    "MessageRow",
    "NewCampaign",
    "NewTicket",
    "OnAir",
    "OutboxRow",
    "Outcome",
    "SimStatusRow",
    "Store",
    "TicketRow",
    "UpdatesApplied",
    "UssdRequestRow",
    "iso",
    "stamp",
    "utcnow",
]
