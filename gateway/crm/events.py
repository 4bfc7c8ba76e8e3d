"""The desk's changes to the CRM: ``POST /ticket-events``, exactly once, in order, after
their tickets (protocol v1, ``docs/crm-sync.md``).

Runs after the ticket push, under the same lease (:mod:`gateway.crm.lease`): the events
are read in the transaction that extends it. Nothing is written down before it is sent:
the history is the queue and an event's id is its history row, so after a crash the same
events go again under the same ids (and the same Idempotency-Key), and the CRM answers
``duplicate``. Answers are read as the ticket push reads them: 2xx results settle events;
408/429/5xx retry; another 4xx splits the batch until the one event the CRM refuses is
found and kept as rejected.
"""

from __future__ import annotations

import structlog

from gateway.crm import events_protocol, protocol
from gateway.crm.client import CrmClient
from gateway.crm.lease import Lease, LeaseLost
from gateway.crm.push import Backoff, CycleReport
from gateway.exceptions import CrmBadAnswer, CrmUnreachable
from gateway.store.protocols_events import TicketEventsQueue
from gateway.store.sync import LeaseTaken
from gateway.store.ticket_events import EventRow

log = structlog.get_logger("gateway.crm.sync")


class EventPusher:
    def __init__(self, store: TicketEventsQueue, site: str, batch_size: int, lease: Lease) -> None:
        self.store = store
        self.site = site
        self.batch_size = batch_size
        self.lease = lease
        self._incomplete = False  # the CRM's answer left events out: they go again after a backoff

    async def push_all(self, crm: CrmClient, report: CycleReport) -> None:
        """Batch after batch until nothing is left to send or the rest waits for its ticket."""
        while True:
            now = self.lease.clock.monotonic()
            try:
                rows = await self.store.next_events(self.batch_size, lease=self.lease.terms())
            except LeaseTaken as exc:
                self.lease.renewed = None
                raise LeaseLost(f"the sync lease went to {exc.holder}") from None
            self.lease.renewed = now
            if not rows:
                return
            plan = events_protocol.plan(rows)
            done: list[int] = []
            rejected = list(plan.unsendable)
            self._incomplete = False
            if plan.send:
                await self._push(crm, list(plan.send), done, rejected, report)
            settled = {*done, *(i for i, _ in rejected)}
            cursor = events_protocol.new_cursor(rows, settled)
            await self.store.settle_events(rejected, done, cursor)
            report.events_rejected += len(rejected)
            for history_id, reason in rejected:
                log.warning(
                    "crm_rejected_event", event_id=events_protocol.event_id(self.site, history_id), error=reason
                )
            if self._incomplete:
                raise Backoff("CRM answered a batch of events without mentioning each of them")
            if plan.waits or not settled:
                return  # the rest waits for its ticket

    async def _push(
        self,
        crm: CrmClient,
        rows: list[EventRow],
        done: list[int],
        rejected: list[tuple[int, str]],
        report: CycleReport,
    ) -> None:
        docs = [events_protocol.event_doc(self.site, r) for r in rows]
        bid, body = events_protocol.events_body(self.site, docs)
        await self.lease.renew()
        try:
            answer = await self.lease.holding(crm.push_events(bid, body))
        except CrmBadAnswer as exc:
            raise Backoff(str(exc)) from None
        except CrmUnreachable:
            raise
        by_id = {d["id"]: r.history_id for d, r in zip(docs, rows, strict=True)}
        outcome = protocol.read_push_answer(answer.status, answer.body, answer.headers, list(by_id))
        if outcome.kind == "retry":
            raise Backoff(f"CRM did not take events batch {bid}: {outcome.reason}", outcome.retry_after)
        if outcome.kind == "split":
            if len(rows) == 1:
                rejected.append((rows[0].history_id, outcome.reason))
                return
            half = len(rows) // 2
            log.info("crm_events_batch_split", batch_id=bid, events=len(rows), reason=outcome.reason)
            await self._push(crm, rows[:half], done, rejected, report)
            await self._push(crm, rows[half:], done, rejected, report)
            return
        for result in outcome.results:
            if result.synced:
                done.append(by_id[result.id])
                report.events_sent += 1
            else:
                rejected.append((by_id[result.id], result.error or "rejected by the CRM"))
        if outcome.unmentioned:
            log.warning("crm_events_answer_incomplete", batch_id=bid, unmentioned=len(outcome.unmentioned))
            self._incomplete = True
