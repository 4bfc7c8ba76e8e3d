"""Push: queued tickets to the CRM, exactly once, in order (protocol v1, ``docs/crm-sync.md``).

The oldest batch in flight goes first, else a new one of the oldest queued tickets,
written down before it is sent (:mod:`gateway.store.sync`). 2xx results settle
tickets; 408/429/5xx/a page that is not JSON retry the same batch (:class:`Backoff`);
another 4xx splits the batch until the one ticket the CRM refuses is found and marked
rejected. No answer at all: :class:`gateway.exceptions.CrmUnreachable`, the link is down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from ulid import ULID

from gateway.crm import protocol
from gateway.crm.client import CrmClient
from gateway.crm.lease import Lease, LeaseLost
from gateway.exceptions import CrmBadAnswer, CrmError, CrmUnreachable
from gateway.store import BatchRow, PushResult, SyncQueue, TicketRow
from gateway.store.sync import LeaseTaken

log = structlog.get_logger("gateway.crm.sync")


class Backoff(CrmError):
    """The CRM answered but did not take the batch (5xx, 429, ...): wait, then the same batch again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class CycleReport:
    """What one push-and-pull cycle did (``gateway sync now``)."""

    synced: int = 0
    rejected: int = 0
    batches: int = 0
    updates: int = 0
    unknown_updates: int = 0
    notices: int = 0
    messages_replaced: int = 0  # the CRM's text was not sendable: the catalogue's template went instead
    notices_unsent: int = 0  # no SMS could be made for an update that asked for one
    events_sent: int = 0  # the desk's changes the CRM answered for (accepted or duplicate)
    events_rejected: int = 0
    superseded: int = 0  # CRM updates older than the desk's own later status change: kept in the history only
    more_updates: bool = False  # the pull stopped at its page limit: the next cycle comes at once
    error: str | None = None


class Pusher:
    def __init__(
        self,
        store: SyncQueue,
        site: str,
        batch_size: int,
        lease: Lease,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.site = site
        self.batch_size = batch_size
        self.lease = lease
        self._on_progress = on_progress

    async def push_all(self, crm: CrmClient, report: CycleReport) -> None:
        while True:
            now = self.lease.clock.monotonic()
            try:  # the batch is handed out in the transaction that extends this syncer's lease
                batch = await self.store.next_batch(self.new_id, self.batch_size, self.body, lease=self.lease.terms())
            except LeaseTaken as exc:
                self.lease.renewed = None
                raise LeaseLost(f"the sync lease went to {exc.holder}") from None
            self.lease.renewed = now
            if batch is None:
                return
            await self._push(crm, batch, report)

    async def _push(self, crm: CrmClient, batch: BatchRow, report: CycleReport) -> None:
        await self.lease.renew()
        try:
            answer = await self.lease.holding(crm.push(batch.id, batch.body))
        except CrmUnreachable as exc:
            await self.store.batch_failed(batch.id, str(exc))
            raise
        except CrmBadAnswer as exc:  # an answer too large to read: nothing was acknowledged
            await self.store.batch_failed(batch.id, str(exc))
            raise Backoff(str(exc)) from None
        report.batches += 1
        outcome = protocol.read_push_answer(answer.status, answer.body, answer.headers, batch.ids)
        if outcome.kind == "retry":
            await self.store.batch_failed(batch.id, outcome.reason)
            raise Backoff(f"CRM did not take batch {batch.id}: {outcome.reason}", outcome.retry_after)
        if outcome.kind == "split":
            if len(batch.tickets) == 1:
                ticket_id = batch.ids[0]
                await self.store.apply_batch(
                    batch, [PushResult(ticket_id, "rejected", error=outcome.reason)], self.lease.clock.wall()
                )
                report.rejected += 1
                log.warning("crm_rejected_ticket", ticket_id=ticket_id, error=outcome.reason)
                self._progress(1)
                return
            halves = await self.store.split_batch(batch, self.new_id, self.body)
            log.info("crm_batch_split", batch_id=batch.id, tickets=len(batch.tickets), reason=outcome.reason)
            for half in halves:
                await self._push(crm, half, report)
            return
        settled = await self.store.apply_batch(batch, outcome.results, self.lease.clock.wall())
        rejected = [r for r in outcome.results if not r.synced]
        for r in rejected:
            log.warning("crm_rejected_ticket", ticket_id=r.id, error=r.error)
        report.rejected += len(rejected)
        report.synced += len(outcome.results) - len(rejected)
        self._progress(len(outcome.results))
        if outcome.unmentioned:
            log.warning("crm_answer_incomplete", batch_id=batch.id, unmentioned=len(outcome.unmentioned))
            if not settled:
                raise Backoff(f"CRM answered batch {batch.id} without mentioning its tickets")

    def new_id(self) -> str:
        return f"{self.site}-{ULID()}"

    def body(self, batch_id: str, tickets: list[TicketRow]) -> bytes:
        return protocol.push_body(self.site, batch_id, [t.as_push() for t in tickets])

    def _progress(self, n: int) -> None:
        if self._on_progress is not None:
            self._on_progress(n)
