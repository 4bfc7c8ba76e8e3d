"""Outages and their stages to the CRM: ``POST /outages``, once each, in order (protocol v1,
``docs/crm-sync.md``).

Runs after the desk's changes, under the same lease. The stages are the queue
(``outage_stages``, :mod:`gateway.store.outages`) and an event's id is its stage row, so after a
crash the same events go again under the same ids (and Idempotency-Key) and the CRM answers
``duplicate``. 2xx results move the cursor past every event answered (an event the CRM rejects
is logged and left: it describes the past, the next stage carries the outage as it is now);
408/429/5xx and the rest retry the batch after a backoff.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from gateway.crm import events_protocol, protocol
from gateway.crm.client import CrmClient
from gateway.crm.lease import Lease
from gateway.crm.push import Backoff
from gateway.exceptions import CrmBadAnswer
from gateway.store.outages import OutageRow, StageRow
from gateway.store.protocols_outages import OutageEvents

log = structlog.get_logger("gateway.crm.sync")


def outage_event_id(site: str, stage_id: int) -> str:
    return f"{site}-outage-stage-{stage_id}"


def outage_doc(site: str, stage: StageRow, outage: OutageRow) -> dict[str, Any]:
    """One stage as the CRM receives it, with the outage as it is now."""
    return {
        "id": outage_event_id(site, stage.id),
        "outage_id": f"{site}-outage-{outage.id}",
        "type": stage.kind,
        "at": stage.at,
        "by": stage.actor,
        "areas": outage.area_list,
        "cause": outage.cause,
        "eta": stage.eta_at,
        "note": stage.note,
        "check": bool(stage.checked),
        "notified": stage.recipients,
        "status": outage.status,
        "started_at": outage.started_at,
        "ended_at": outage.ended_at,
        "origin": outage.origin,
    }


class OutagePusher:
    def __init__(self, store: OutageEvents, site: str, batch_size: int, lease: Lease) -> None:
        self.store = store
        self.site = site
        self.batch_size = batch_size
        self.lease = lease

    async def push_all(self, crm: CrmClient) -> int:
        """Batch after batch until every stage went; returns how many the CRM answered for."""
        sent = 0
        while True:
            rows = await self.store.outage_events(self.batch_size)
            if not rows:
                return sent
            docs = [outage_doc(self.site, stage, outage) for stage, outage in rows]
            ids = [d["id"] for d in docs]
            bid = events_protocol.batch_id(self.site, ids)
            body = json.dumps({"site": self.site, "batch_id": bid, "events": docs}, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")  # fmt: skip
            await self.lease.renew()
            try:
                answer = await self.lease.holding(crm.push_outages(bid, body))
            except CrmBadAnswer as exc:
                raise Backoff(str(exc)) from None
            outcome = protocol.read_push_answer(answer.status, answer.body, answer.headers, ids)
            if outcome.kind != "results":
                raise Backoff(f"CRM did not take outage events batch {bid}: {outcome.reason}", outcome.retry_after)
            for result in outcome.results:
                if not result.synced:
                    log.warning("crm_rejected_outage_event", event_id=result.id, error=result.error)
            answered = {r.id for r in outcome.results}
            done = [stage.id for (stage, _), i in zip(rows, ids, strict=True) if i in answered]
            if not done:
                raise Backoff(f"CRM answered outage events batch {bid} without mentioning them")
            await self.store.settle_outage_events(max(done))
            sent += len(done)
