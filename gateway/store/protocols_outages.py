"""The narrow views of the outage records (:mod:`gateway.store.outages`): what the outage
library, the conversation's intake and the CRM sync each use."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gateway.store.outages import NewStage, OutageRow, ReportRow, StageRow

if TYPE_CHECKING:
    from gateway.store.database import Store


class OutageLinks(Protocol):
    """What routing reads to link a report to a known outage, answer STATUS with its ETR, and
    take a ``1`` after a restoration check as a still-out report."""

    async def outages(self, status: str | None = ..., limit: int = ...) -> list[OutageRow]: ...
    async def contact_areas(self, phone: str, account: str | None) -> list[str]: ...
    async def ticket_outages(self, ticket_ids: Collection[str]) -> dict[str, OutageRow]: ...
    async def checks_sent(self, phones: Collection[str], now: datetime) -> dict[str, int]: ...
    async def outage(self, outage_id: int) -> OutageRow: ...
    async def outage_tickets_since(
        self, category: str, since: datetime
    ) -> list[tuple[str, str | None, str | None]]: ...
    async def note_suggestions(self, areas: dict[str, int], window_s: float, now: datetime) -> None: ...
    async def areas_by_phone_and_account(
        self, phones: Collection[str], accounts: Collection[str]
    ) -> tuple[dict[str, str], dict[str, str]]: ...


class OutageBook(OutageLinks, Protocol):
    """The outage library (:mod:`gateway.outages`): declare, stage, read."""

    async def declare_outage(
        self, areas: Sequence[str], cause: str | None, eta_at: datetime | None, actor: str,
        *, origin: str | None = ..., now: datetime | None = ...,
    ) -> tuple[int, int]: ...  # fmt: skip
    async def add_outage_stage(self, outage_id: int, stage: NewStage, now: datetime | None = ...) -> int: ...
    async def note_stage_notice(
        self, stage_id: int, campaign_id: int | None, check_campaign_id: int | None, recipients: int
    ) -> None: ...
    async def outage_stages(self, outage_id: int) -> list[StageRow]: ...
    async def open_reports_since(self, category: str, since: datetime) -> list[tuple[str, str, str | None, str]]: ...
    async def link_reports(self, outage_id: int, ticket_ids: Sequence[str], now: datetime | None = ...) -> int: ...
    async def outage_reports(self, outage_id: int, kind: str | None = ...) -> list[ReportRow]: ...


class OutageEvents(Protocol):
    """CRM sync: outage stages to ``POST /outages`` once each, in order."""

    async def outage_events(self, size: int) -> list[tuple[StageRow, OutageRow]]: ...
    async def settle_outage_events(self, last_stage_id: int) -> None: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies these views

    def _store_views(store: Store) -> tuple[OutageLinks, OutageBook, OutageEvents]:
        return (store, store, store)
