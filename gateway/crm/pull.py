"""Pull: status changes from the CRM, and the SMS that tell customers (protocol v1).

``GET /updates`` from the stored cursor, at most ``limit`` a page, applied in chunks:
each chunk, the SMS it asks for and where the pull stands are committed together, and
intake gets the writer between chunks. A page cut short by a crash or a stop is not
applied twice (``cursor_skip``), so no customer is told the same news twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.replies import status_notice
from gateway.crm import protocol
from gateway.crm.client import CrmClient
from gateway.crm.events_protocol import desk_change_stands
from gateway.crm.lease import Lease
from gateway.crm.push import Backoff, CycleReport
from gateway.exceptions import CrmBadAnswer
from gateway.store import CrmSyncStore, StatusUpdate, TicketRow
from sim_bank import EncodeError
from sim_bank.pdu import count_parts

log = structlog.get_logger("gateway.crm.sync")

MAX_PAGES = 100  # update pages pulled in one cycle: a long backlog cannot hold back the push of new tickets


class Puller:
    def __init__(
        self,
        store: CrmSyncStore,
        config: Config,
        catalogue: Catalogue,
        lease: Lease,
        *,
        chunk: int,
        limit: int,
        on_notice: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.catalogue = catalogue
        self.lease = lease
        self._chunk = max(1, chunk)
        self._limit = max(1, limit)
        self._on_notice = on_notice

    async def pull(self, crm: CrmClient, report: CycleReport) -> None:
        """Page by page from the stored cursor; each page in chunks. ``cursor_skip`` counts the
        updates after ``cursor`` that are already applied (a page cut short by a crash or a
        stop): they are not applied again, so no customer is told the same news twice."""
        state = await self.store.sync_state()
        cursor = state.get("cursor")
        skip = _count(state.get("cursor_skip"))
        for _ in range(MAX_PAGES):
            await self.lease.renew()
            try:
                page = await self.lease.holding(crm.updates(cursor, self._limit))
            except CrmBadAnswer as exc:
                raise Backoff(str(exc), exc.retry_after) from None
            if page.skipped:
                log.warning("crm_updates_skipped", entries=page.skipped, reason="no id or status")
            if page.updates and page.cursor is None:
                raise Backoff("GET /updates returned updates without a cursor")
            if page.cursor is None or page.cursor == cursor:
                if page.updates:  # the same page again: applying it would text customers twice
                    log.warning("crm_updates_cursor_stuck", cursor=cursor, updates=len(page.updates))
                return
            await self._apply_page(page, cursor, skip, report)
            if not page.updates:
                return
            skip = max(0, skip - len(page.updates))
            cursor = page.cursor
        report.more_updates = True  # new tickets are pushed, then the pull goes on
        log.info("crm_updates_paging", note=f"{MAX_PAGES} pages in one cycle; the rest in the next, at once")

    async def _apply_page(self, page: protocol.UpdatesPage, cursor: str | None, skip: int, report: CycleReport) -> None:
        """Apply ``page`` (asked for after ``cursor``, whose first ``skip`` updates are already
        applied) one chunk per transaction; the last chunk moves the cursor to the page's."""
        done = min(skip, len(page.updates))
        fresh = page.updates[done:]
        chunks = [fresh[i : i + self._chunk] for i in range(0, len(fresh), self._chunk)] or [()]
        for number, chunk in enumerate(chunks, 1):
            done += len(chunk)
            if number == len(chunks):
                left = skip - min(skip, len(page.updates))  # this page was shorter than what was applied
                where = {"cursor": page.cursor, "cursor_skip": str(left) if left else None}
            else:
                where = {"cursor": cursor, "cursor_skip": str(done)}
            result = await self.store.apply_updates(
                chunk, lambda t, u: self.notice(t, u, report), state=where, overruled=overruled
            )
            report.updates += result.applied
            report.superseded += result.superseded
            if result.superseded:
                log.info("crm_updates_superseded", updates=result.superseded, note="the desk's later status stands")
            report.unknown_updates += result.unknown
            report.notices += len(result.notices)
            if result.unknown:
                log.warning("crm_updates_unknown_ticket", updates=result.unknown)
            if result.notices and self._on_notice is not None:
                self._on_notice()
            if number < len(chunks):
                await self.lease.renew()
                await asyncio.sleep(0)  # intake's writes, queued behind this chunk, go now

    def notice(self, ticket: TicketRow, update: StatusUpdate, report: CycleReport) -> str | None:
        """The SMS for an update: the CRM's own text in the customer's language, cleaned of
        control characters, when it fits ``[conversation] reply_max_parts``; else the
        catalogue's template for that status (which check-config holds to that limit); None
        (nothing queued, the update still applied) when not even that can be encoded."""
        text = update.message.get(ticket.language, "")  # cleaned where it was read (crm/protocol)
        if text:
            limit = self.config.conversation.reply_max_parts
            try:
                parts = count_parts(text)
                if parts <= limit:
                    return text
                reason = f"{parts} SMS parts, more than [conversation] reply_max_parts = {limit}"
            except EncodeError as exc:
                reason = str(exc)
            report.messages_replaced += 1
            log.warning("crm_message_replaced", ticket_id=ticket.id, reason=reason, note="the status template goes")
        template = self.template(ticket, update)
        try:
            count_parts(template)
        except EncodeError as exc:
            report.notices_unsent += 1
            log.error("crm_notice_unsent", ticket_id=ticket.id, reason=str(exc))
            return None
        return template

    def template(self, ticket: TicketRow, update: StatusUpdate) -> str:
        return status_notice(
            self.catalogue,
            update.status,
            language=ticket.language,
            code=ticket.code,
            category=ticket.category,
            ref=ticket.ref,
            account=ticket.account,
        )


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def overruled(update: StatusUpdate, desk_changed_at: str | None) -> bool:
    """The both-changed rule (``docs/crm-sync.md``): the desk's own later status change stands."""
    return desk_change_stands(update.changed_at, desk_changed_at)
