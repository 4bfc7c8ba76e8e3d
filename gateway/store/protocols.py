"""Narrow views of the store: each consumer names the few methods it needs (DESIGN.md).

:class:`~gateway.store.Store` satisfies every view structurally (the views of the file
read without a Store are in :mod:`gateway.store.file_views`). The ``TYPE_CHECKING``
block at the end makes ``mypy --strict`` prove it, so a view that drifts from the store
fails the type check.

Written so that another queue (PostgreSQL) could implement them: nothing here
names SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway.store.outages import OutageRow
from gateway.store.protocols_outages import OutageLinks

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows import (
        Assemble,
        BatchRow,
        CustomerRow,
        DeliveryUpdate,
        InboundItem,
        LeaseTerms,
        MessageRow,
        OnAir,
        OutboxRow,
        Outcome,
        PushResult,
        Release,
        SimStatusRow,
        StatusUpdate,
        UpdatesApplied,
        UssdRequestRow,
    )
    from gateway.store.rows_broadcast import (
        AudienceSpec,
        AudienceSummary,
        CampaignRow,
        ContactRow,
        NewCampaign,
        NewContact,
    )
    from gateway.store.rows_tickets import TicketRow

__all__ = [
    "BroadcastPlanner",
    "CampaignDesk",
    "CampaignQueue",
    "ContactBook",
    "CrmSyncStore",
    "CustomerHistory",
    "DaemonStore",
    "DeliveryBook",
    "HousekeepingStore",
    "Inbox",
    "OutboxDesk",
    "OutboxQueue",
    "QuotaLedger",
    "Retention",
    "RoutingQueue",
    "RoutingStore",
    "SimBoard",
    "SimDesk",
    "SyncDesk",
    "SyncLease",
    "SyncQueue",
    "TicketReader",
    "UssdQueue",
]


# ---------------------------------------------------------------- the daemon's services


class OutboxQueue(Protocol):
    """The dispatcher (:mod:`gateway.outbound.dispatcher`): claim rows, record what became of each send."""

    async def claim(
        self,
        assign: Callable[[list[OutboxRow]], dict[int, str]],
        now: datetime | None = ...,
        lookahead: int = ...,
        *,
        waiting: int = ...,
    ) -> list[OutboxRow]: ...
    async def mark_sent(self, row_id: int, on_air: OnAir, parts: int, now: datetime | None = ...) -> None: ...
    async def mark_retry(
        self,
        row_id: int,
        error: str,
        retry_at: datetime | None,
        parts_sent: int,
        on_air: OnAir | None = ...,
        *,
        code: str,
        now: datetime | None = ...,
    ) -> None: ...
    async def mark_unclaimed(self, row_id: int) -> None: ...
    async def mark_final(
        self,
        row_id: int,
        status: str,
        error: str,
        on_air: OnAir | None = ...,
        *,
        code: str | None,
        now: datetime | None = ...,
    ) -> None: ...


class DeliveryBook(Protocol):
    """Delivery reports (:mod:`gateway.inbound.reports`) and the housekeeping that expires the unmatched."""

    async def apply_report(
        self, modem_id: str, reference: int, recipient: str | None, status: int, now: datetime | None = ...
    ) -> DeliveryUpdate | None: ...
    async def expire_pending_reports(self, older_than: datetime) -> int: ...


class Inbox(Protocol):
    """Intake's commit side (:mod:`gateway.inbound.intake`): store a SIM sweep, then let it be deleted."""

    async def add_inbound(
        self,
        modem_id: str,
        items: Sequence[InboundItem],
        now: datetime | None = ...,
        *,
        assemble: Assemble | None = ...,
    ) -> list[int]: ...
    def check_identity(self) -> None: ...
    async def mark_deleted(self, modem_id: str, memory: str, indexes: Sequence[int]) -> None: ...
    async def incomplete_groups(self) -> dict[str, datetime]: ...
    async def release_group(self, key: str, now: datetime | None = ..., *, release: Release) -> int | None: ...


class RoutingQueue(Protocol):
    """Intake's routing side (:mod:`gateway.inbound.routing`): the messages waiting for a
    decision, and the decisions, a round at a time."""

    async def waiting_messages(self, limit: int = ...) -> list[MessageRow]: ...
    async def complete_messages(
        self, routed: Sequence[tuple[MessageRow, Outcome]], now: datetime | None = ...
    ) -> list[tuple[TicketRow | None, int | None]]: ...
    async def fail_message(self, message_id: int, error: str) -> None: ...


class CustomerHistory(Protocol):
    """What routing knows of the customers in a round: their state, tickets and recent activity."""

    async def customers(self, phones: Collection[str]) -> dict[str, CustomerRow]: ...
    async def recent_tickets(self, phones: Collection[str], limit: int = ...) -> dict[str, list[TicketRow]]: ...
    async def activity_since(self, since: Mapping[str, datetime]) -> dict[str, tuple[int, int]]: ...
    async def ticket(self, *refs_or_ids: str, phone: str | None = ...) -> TicketRow | None: ...


class QuotaLedger(Protocol):
    """The quota book (:mod:`gateway.outbound.quotas`) and broadcast estimates: parts each SIM sent."""

    async def usage_on(self, day: str) -> dict[str, dict[str, int]]: ...
    async def parts_since(self, since: datetime) -> list[tuple[str, str]]: ...


class CampaignQueue(Protocol):
    """The broadcast pacer (:mod:`gateway.broadcast.pacing`): release, hold and finish campaigns' rows."""

    async def running_campaigns(self) -> list[CampaignRow]: ...
    async def start_due_run(self, campaign_id: int, now: datetime | None = ...) -> int | None: ...
    async def queued_for(self, campaign_id: int) -> int: ...
    async def release_held(self, campaign_id: int, count: int) -> int: ...
    async def hold_queued(self, campaign_id: int) -> int: ...
    async def finish_if_done(self, campaign_id: int, now: datetime | None = ...) -> bool: ...
    async def tidy_campaigns(self, alive: Callable[[str], bool], now: datetime | None = ...) -> list[int]: ...


class SimBoard(Protocol):
    """The SIM monitor (:mod:`gateway.sims.monitor`): what operators see of each SIM."""

    async def waiting_per_modem(self) -> dict[str, int]: ...
    async def save_sim_status(self, rows: Sequence[SimStatusRow]) -> None: ...


class UssdQueue(Protocol):
    """The USSD service (:mod:`gateway.sims.ussd`): requests to dial and their answers."""

    async def fail_interrupted_ussd(self) -> int: ...
    async def queued_ussd(self) -> list[UssdRequestRow]: ...
    async def claim_ussd(self, request_id: int) -> bool: ...
    async def finish_ussd(
        self,
        request_id: int,
        *,
        response: str | None,
        session_open: bool,
        error: str | None = ...,
        now: datetime | None = ...,
    ) -> None: ...


class SyncQueue(Protocol):
    """CRM sync (:mod:`gateway.crm.sync`): batches out, answers and status updates in."""

    async def has_queued_tickets(self) -> bool: ...
    async def next_batch(
        self,
        new_id: Callable[[], str],
        size: int,
        body: Callable[[str, list[TicketRow]], bytes],
        *,
        lease: LeaseTerms | None = ...,
    ) -> BatchRow | None: ...
    async def apply_batch(self, batch: BatchRow, results: Sequence[PushResult], now: datetime | None = ...) -> int: ...
    async def batch_failed(self, batch_id: str, error: str) -> None: ...
    async def split_batch(
        self, batch: BatchRow, new_id: Callable[[], str], body: Callable[[str, list[TicketRow]], bytes]
    ) -> list[BatchRow]: ...
    async def apply_updates(
        self,
        updates: Sequence[StatusUpdate],
        notice: Callable[[TicketRow, StatusUpdate], str | None],
        *,
        state: dict[str, str | None],
        now: datetime | None = ...,
        overruled: Callable[[StatusUpdate, str | None], bool] | None = ...,
    ) -> UpdatesApplied: ...


class SyncLease(Protocol):
    """Who may sync (one syncer at a time), and the sync state (cursor, link)."""

    async def sync_state(self) -> dict[str, str]: ...
    async def set_sync_state(self, **values: str | None) -> None: ...
    async def take_sync_lease(
        self, holder: str, ttl: float, alive: Callable[[str], bool], now: datetime, monotonic: float
    ) -> str | None: ...
    async def release_sync_lease(self, holder: str) -> None: ...


class DaemonStore(Protocol):
    """The daemon (:mod:`gateway.daemon`): lifecycle, and watching the file for other writers."""

    @property
    def path(self) -> Path: ...
    async def recover(self) -> int: ...
    async def close(self, timeout: float = ...) -> None: ...
    async def data_version(self) -> int: ...
    def replaced(self) -> str | None: ...


class Retention(Protocol):
    """The daemon's housekeeping: old rows purged."""

    async def purge(self, inbound_pdus_days: int, outbox_days: int, now: datetime | None = ...) -> dict[str, int]: ...


# ---------------------------------------------------------------- the faces (CLI; later the API)


class TicketReader(Protocol):
    """``gateway tickets list/show`` and ``parse``."""

    async def tickets(
        self, status: str | None = ..., limit: int = ..., sync_status: str | None = ...
    ) -> list[TicketRow]: ...
    async def ticket(self, *refs_or_ids: str, phone: str | None = ...) -> TicketRow | None: ...
    async def outbox(
        self, status: str | None = ..., limit: int = ..., ticket_id: str | None = ...
    ) -> list[OutboxRow]: ...


class OutboxDesk(Protocol):
    """``gateway send`` and ``gateway outbox list``."""

    async def enqueue(
        self,
        phone: str,
        text: str,
        *,
        lane: str = ...,
        modem_hint: str | None = ...,
        ticket_id: str | None = ...,
        now: datetime | None = ...,
    ) -> int: ...
    async def outbox(
        self, status: str | None = ..., limit: int = ..., ticket_id: str | None = ...
    ) -> list[OutboxRow]: ...


class SimDesk(Protocol):
    """``gateway modems`` and ``gateway ussd``; broadcast estimates read the SIMs' state."""

    async def sim_statuses(self) -> list[SimStatusRow]: ...
    async def add_ussd(self, modem_id: str, request: str, kind: str = ...) -> int: ...
    async def ussd_request(self, request_id: int) -> UssdRequestRow | None: ...
    async def cancel_ussd(self, request_id: int) -> None: ...


class SyncDesk(Protocol):
    """``gateway sync status/now/retry-rejected``."""

    async def sync_counts(self) -> dict[str, Any]: ...
    async def sync_lease_holder(self, alive: Callable[[str], bool], now: datetime, monotonic: float) -> str | None: ...
    async def retry_rejected(self, refs_or_ids: Sequence[str] = ...) -> int: ...


class ContactBook(Protocol):
    """``gateway contacts`` and ``gateway groups``."""

    async def upsert_contacts(
        self, contacts: Sequence[NewContact], group: str | None = ..., now: datetime | None = ...
    ) -> tuple[int, int]: ...
    async def contacts(
        self,
        group: str | None = ...,
        area: str | None = ...,
        limit: int = ...,
        *,
        search: str | None = ...,
        digits: str | None = ...,
    ) -> list[ContactRow]: ...
    async def count_contacts(self, group: str | None = ..., area: str | None = ...) -> int: ...
    async def groups(self) -> list[tuple[str, int]]: ...


class CampaignDesk(Protocol):
    """``gateway broadcast``: plan, create, list, follow and control campaigns."""

    async def build_audience(
        self,
        spec: AudienceSpec,
        extra: Iterable[tuple[str, str | None]] = ...,
        *,
        default_language: str,
        prefixes: Sequence[tuple[str, str]],
    ) -> AudienceSummary: ...
    async def create_campaign(
        self, new: NewCampaign, now: datetime | None = ..., on_progress: Callable[[int], None] | None = ...
    ) -> int: ...
    async def parts_waiting(self, exclude: int | None = ...) -> int: ...
    async def campaigns(self, limit: int = ...) -> list[CampaignRow]: ...
    async def campaign(self, campaign_id: int) -> CampaignRow | None: ...
    async def cap_public(self, campaign_ids: Sequence[int]) -> dict[int, dict[str, dict[str, str]]]: ...
    async def public_outages(
        self, campaign_ids: Sequence[int], limit: int = ...
    ) -> tuple[list[OutageRow], dict[int, tuple[int, str]]]: ...
    async def campaign_counts(self, campaign_id: int) -> dict[str, int]: ...
    async def sent_since(self, campaign_id: int, since: datetime) -> int: ...
    async def pause_campaign(self, campaign_id: int, *, actor: str | None = ...) -> bool: ...
    async def resume_campaign(self, campaign_id: int, *, actor: str | None = ...) -> bool: ...
    async def cancel_campaign(
        self, campaign_id: int, now: datetime | None = ..., *, actor: str | None = ...
    ) -> int | None: ...
    async def approve_campaign(self, campaign_id: int, *, actor: str, now: datetime | None = ...) -> bool: ...
    async def measured_rates(
        self, since: datetime, min_parts: int = ..., idle_gap: float = ...
    ) -> dict[str, float]: ...


# ---------------------------------------------------------------- consumers that need two or three views


class RoutingStore(RoutingQueue, CustomerHistory, OutageLinks, Protocol):
    """Intake's routing (:mod:`gateway.inbound.routing`), with the outages it links reports to."""


class IntakeStore(Inbox, RoutingStore, DeliveryBook, Protocol):
    """Intake as a whole (:mod:`gateway.inbound.intake`): commit, route, reports stored on the SIM."""


class CrmSyncStore(SyncQueue, SyncLease, Protocol):
    """CRM sync as a whole (:mod:`gateway.crm.sync`)."""


class HousekeepingStore(DeliveryBook, Retention, Protocol):
    """The daemon's housekeeping (:mod:`gateway.ops.housekeeping`): reports expired, old rows purged."""


class BroadcastPlanner(CampaignDesk, ContactBook, QuotaLedger, SimDesk, Protocol):
    """``gateway broadcast``: the audience checked (groups, areas), the estimate (SIM capacity:
    quotas used, SIM states), the campaign made and followed."""


if TYPE_CHECKING:  # mypy proves that the store's classes satisfy these views

    def _store_views(store: Store) -> tuple[
        OutboxQueue, DeliveryBook, Inbox, RoutingQueue, CustomerHistory, QuotaLedger, CampaignQueue, SimBoard,
        UssdQueue, SyncQueue, SyncLease, DaemonStore, Retention, TicketReader, OutboxDesk, SimDesk, SyncDesk,
        ContactBook, CampaignDesk, RoutingStore, CrmSyncStore, HousekeepingStore, BroadcastPlanner, IntakeStore,
    ]:  # fmt: skip
        return (store, store, store, store, store, store, store, store, store, store, store, store, store, store,
                store, store, store, store, store, store, store, store, store, store)  # fmt: skip
