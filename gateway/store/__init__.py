"""The SQLite queue: everything the gateway knows lives here (WAL, one writer).

Two connections per process: a writer, used inside ``BEGIN IMMEDIATE``
transactions one at a time (an asyncio lock), and a reader that only ever
sees committed rows. The CLI opens its own ``Store`` on the same file; the
file is the only interface between the CLI and the daemon.

Rules kept here (DESIGN.md): a received PDU is committed before the SIM copy
may be deleted; a message is routed at most once (``state`` guard); an outbox
row is ``sent`` only after ``+CMGS``; rows left ``sending`` by a crash are
queued again at start-up.

Each consumer should ask for the narrow view it needs (:mod:`gateway.store.protocols`:
``OutboxQueue`` for the dispatcher, ``SyncQueue`` for CRM sync, ...), not the whole
``Store``; every row type is in :mod:`gateway.store.rows` (broadcast rows in
:mod:`gateway.store.rows_broadcast`).
"""

from __future__ import annotations

from gateway.store.audience import AudienceMixin
from gateway.store.base import LANES, STORE_ERRORS, iso, stamp, utcnow
from gateway.store.campaigns import CampaignsMixin
from gateway.store.contacts import ContactsMixin
from gateway.store.inbox import InboundMixin
from gateway.store.maintenance import MaintenanceMixin
from gateway.store.outbox import OutboxMixin
from gateway.store.protocols import (
    Archive,
    BroadcastPlanner,
    CampaignDesk,
    CampaignQueue,
    ContactBook,
    CrmSyncStore,
    CustomerHistory,
    DaemonStore,
    DeliveryBook,
    HousekeepingStore,
    Inbox,
    OutboxDesk,
    OutboxQueue,
    QuotaLedger,
    Retention,
    RoutingQueue,
    RoutingStore,
    SimBoard,
    SimDesk,
    StatsReader,
    StoreHealth,
    SyncDesk,
    SyncLease,
    SyncQueue,
    TicketReader,
    UssdQueue,
)
from gateway.store.queries import QueriesMixin
from gateway.store.rows import (
    BatchRow,
    InboundItem,
    LeaseTerms,
    MessageRow,
    NewTicket,
    OnAir,
    OutboxRow,
    Outcome,
    PushResult,
    SimStatusRow,
    StatusUpdate,
    TicketRow,
    UpdatesApplied,
    UssdRequestRow,
)
from gateway.store.rows_broadcast import AudienceSpec, AudienceSummary, CampaignRow, ContactRow, NewCampaign, NewContact
from gateway.store.sims import SimsMixin
from gateway.store.sync import SyncMixin


class Store(
    InboundMixin,
    OutboxMixin,
    SimsMixin,
    SyncMixin,
    ContactsMixin,
    AudienceMixin,
    CampaignsMixin,
    MaintenanceMixin,
    QueriesMixin,
):
    """The gateway's database. Open with :meth:`Store.open`; close with :meth:`close` (or ``async with``)."""


__all__ = [
    "LANES",
    "STORE_ERRORS",
    "Archive",
    "AudienceSpec",
    "AudienceSummary",
    "BatchRow",
    "BroadcastPlanner",
    "CampaignDesk",
    "CampaignQueue",
    "CampaignRow",
    "ContactBook",
    "ContactRow",
    "CrmSyncStore",
    "CustomerHistory",
    "DaemonStore",
    "DeliveryBook",
    "HousekeepingStore",
    "InboundItem",
    "Inbox",
    "LeaseTerms",
    "MessageRow",
    "NewCampaign",
    "NewContact",
    "NewTicket",
    "OnAir",
    "OutboxDesk",
    "OutboxQueue",
    "OutboxRow",
    "Outcome",
    "PushResult",
    "QuotaLedger",
    "Retention",
    "RoutingQueue",
    "RoutingStore",
    "SimBoard",
    "SimDesk",
    "SimStatusRow",
    "StatsReader",
    "StatusUpdate",
    "Store",
    "StoreHealth",
    "SyncDesk",
    "SyncLease",
    "SyncQueue",
    "TicketReader",
    "TicketRow",
    "UpdatesApplied",
    "UssdQueue",
    "UssdRequestRow",
    "iso",
    "stamp",
    "utcnow",
]
