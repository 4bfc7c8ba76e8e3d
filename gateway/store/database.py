"""The whole store: one class with every query, from the mixins of each table family.

Consumers ask for the narrow view they need (:mod:`gateway.store.protocols`); the daemon and
the commands open this one (``Store.open``).
"""

from __future__ import annotations

from gateway.store.access import AccessMixin
from gateway.store.audience import AudienceMixin
from gateway.store.audit import AuditMixin
from gateway.store.campaigns import CampaignsMixin
from gateway.store.cap import CapMixin
from gateway.store.cell_broadcast import CellBroadcastMixin
from gateway.store.console import ConsoleMixin
from gateway.store.contacts import ContactsMixin
from gateway.store.desk import DeskMixin
from gateway.store.events import EventsMixin
from gateway.store.idempotency import IdempotencyMixin
from gateway.store.inbox import InboundMixin
from gateway.store.maintenance import MaintenanceMixin
from gateway.store.outages import OutagesMixin
from gateway.store.outbox import OutboxMixin
from gateway.store.people import PeopleMixin
from gateway.store.queries import QueriesMixin
from gateway.store.routing import RoutingMixin
from gateway.store.sims import SimsMixin
from gateway.store.sync import SyncMixin
from gateway.store.threads import ThreadsMixin
from gateway.store.ticket_events import TicketEventsMixin
from gateway.store.webhooks import WebhooksMixin


class Store(
    InboundMixin,
    RoutingMixin,
    OutboxMixin,
    SimsMixin,
    SyncMixin,
    ContactsMixin,
    AudienceMixin,
    CampaignsMixin,
    MaintenanceMixin,
    QueriesMixin,
    DeskMixin,
    PeopleMixin,
    ThreadsMixin,
    TicketEventsMixin,
    AccessMixin,
    AuditMixin,
    EventsMixin,
    WebhooksMixin,
    IdempotencyMixin,
    OutagesMixin,
    ConsoleMixin,
    CapMixin,
    CellBroadcastMixin,
):
    """The gateway's database. Open with :meth:`Store.open`; close with :meth:`close` (or ``async with``)."""
