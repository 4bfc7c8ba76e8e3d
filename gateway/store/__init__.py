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

import importlib
from typing import TYPE_CHECKING, Any

# The package's face, imported on first use: a command that only reads (gateway.store.reader)
# or needs a row type does not load asyncio, aiosqlite and every query with it.
_FACE = {
    "LANES": "gateway.store.base",
    "STORE_ERRORS": "gateway.store.base",
    "AccessBook": "gateway.store.protocols_access",
    "Actor": "gateway.store.rows_access",
    "Archive": "gateway.store.file_views",
    "AudienceSpec": "gateway.store.rows_broadcast",
    "AudienceSummary": "gateway.store.rows_broadcast",
    "AuditRow": "gateway.store.rows_access",
    "BatchRow": "gateway.store.rows",
    "BroadcastPlanner": "gateway.store.protocols",
    "CampaignDesk": "gateway.store.protocols",
    "CampaignQueue": "gateway.store.protocols",
    "CampaignRow": "gateway.store.rows_broadcast",
    "CaseDesk": "gateway.store.protocols_desk",
    "ContactBook": "gateway.store.protocols",
    "ContactRow": "gateway.store.rows_broadcast",
    "CrmSyncStore": "gateway.store.protocols",
    "CustomerHistory": "gateway.store.protocols",
    "DaemonStore": "gateway.store.protocols",
    "DeliveryBook": "gateway.store.protocols",
    "HistoryRow": "gateway.store.rows_tickets",
    "HousekeepingStore": "gateway.store.protocols",
    "InboundItem": "gateway.store.rows",
    "Inbox": "gateway.store.protocols",
    "LeaseTerms": "gateway.store.rows",
    "MessageLog": "gateway.store.protocols_threads",
    "MessageRow": "gateway.store.rows",
    "NewCampaign": "gateway.store.rows_broadcast",
    "NewContact": "gateway.store.rows_broadcast",
    "NewTicket": "gateway.store.rows",
    "OnAir": "gateway.store.rows",
    "OutboxDesk": "gateway.store.protocols",
    "OutboxQueue": "gateway.store.protocols",
    "OutboxRow": "gateway.store.rows",
    "Outcome": "gateway.store.rows",
    "PeopleBook": "gateway.store.protocols_people",
    "PushResult": "gateway.store.rows",
    "QuotaLedger": "gateway.store.protocols",
    "ReplyDesk": "gateway.store.protocols_replies",
    "Retention": "gateway.store.protocols",
    "RoutingQueue": "gateway.store.protocols",
    "RoutingStore": "gateway.store.protocols",
    "SimBoard": "gateway.store.protocols",
    "SimDesk": "gateway.store.protocols",
    "SimStatusRow": "gateway.store.rows",
    "StatsReader": "gateway.store.file_views",
    "StatusUpdate": "gateway.store.rows",
    "Store": "gateway.store.database",
    "StoreHealth": "gateway.store.file_views",
    "SyncDesk": "gateway.store.protocols",
    "SyncLease": "gateway.store.protocols",
    "SyncQueue": "gateway.store.protocols",
    "TicketReader": "gateway.store.protocols",
    "TicketRow": "gateway.store.rows_tickets",
    "TokenRow": "gateway.store.rows_access",
    "UpdatesApplied": "gateway.store.rows",
    "UssdQueue": "gateway.store.protocols",
    "UserRow": "gateway.store.rows_access",
    "UssdRequestRow": "gateway.store.rows",
    "iso": "gateway.store.base",
    "stamp": "gateway.store.base",
    "utcnow": "gateway.store.base",
}

if TYPE_CHECKING:
    from gateway.store.base import LANES, STORE_ERRORS, iso, stamp, utcnow
    from gateway.store.database import Store
    from gateway.store.file_views import Archive, StatsReader, StoreHealth
    from gateway.store.protocols import (
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
        SyncDesk,
        SyncLease,
        SyncQueue,
        TicketReader,
        UssdQueue,
    )
    from gateway.store.protocols_access import AccessBook
    from gateway.store.protocols_desk import CaseDesk
    from gateway.store.protocols_people import PeopleBook
    from gateway.store.protocols_replies import ReplyDesk
    from gateway.store.protocols_threads import MessageLog
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
        UpdatesApplied,
        UssdRequestRow,
    )
    from gateway.store.rows_access import Actor, AuditRow, TokenRow, UserRow
    from gateway.store.rows_broadcast import (
        AudienceSpec,
        AudienceSummary,
        CampaignRow,
        ContactRow,
        NewCampaign,
        NewContact,
    )
    from gateway.store.rows_tickets import HistoryRow, TicketRow


def __getattr__(name: str) -> Any:
    module = _FACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "LANES",
    "STORE_ERRORS",
    "AccessBook",
    "Actor",
    "Archive",
    "AudienceSpec",
    "AudienceSummary",
    "AuditRow",
    "BatchRow",
    "BroadcastPlanner",
    "CampaignDesk",
    "CampaignQueue",
    "CampaignRow",
    "CaseDesk",
    "ContactBook",
    "ContactRow",
    "CrmSyncStore",
    "CustomerHistory",
    "DaemonStore",
    "DeliveryBook",
    "HistoryRow",
    "HousekeepingStore",
    "InboundItem",
    "Inbox",
    "LeaseTerms",
    "MessageLog",
    "MessageRow",
    "NewCampaign",
    "NewContact",
    "NewTicket",
    "OnAir",
    "OutboxDesk",
    "OutboxQueue",
    "OutboxRow",
    "Outcome",
    "PeopleBook",
    "PushResult",
    "QuotaLedger",
    "ReplyDesk",
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
    "TokenRow",
    "UpdatesApplied",
    "UserRow",
    "UssdQueue",
    "UssdRequestRow",
    "iso",
    "stamp",
    "utcnow",
]
