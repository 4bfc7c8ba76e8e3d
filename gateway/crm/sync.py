"""Store and forward to the CRM: push queued tickets exactly once, in order; pull status
changes and tell customers by SMS. Protocol v1: ``docs/crm-sync.md``.

The loop (:meth:`SyncService.run`, in the daemon) and one foreground cycle
(:meth:`SyncService.cycle`, ``gateway sync now``) share everything below. One
syncer per database holds a lease in ``sync_state``; ``sync now`` with a daemon
running asks the daemon to sync instead of pushing the same batch alongside it.

* Push: the oldest batch in flight, else a new one of the oldest queued tickets,
  written down before it is sent (:mod:`gateway.store.sync`). 2xx results settle
  tickets; 408/429/5xx/a page that is not JSON retry the same batch after a capped,
  jittered backoff (or ``Retry-After``), forever; another 4xx splits the batch until
  the one ticket the CRM refuses is found and marked rejected. No answer at all:
  the link is down; ``GET /health`` every ``probe_interval`` until it answers.
* Pull: ``GET /updates`` from the stored cursor, at most :data:`UPDATES_LIMIT` a page,
  applied in chunks of :data:`UPDATE_CHUNK`: each chunk, the SMS it asks for and where
  the pull stands are committed together, and intake gets the writer between chunks.
* The lease: taken in the transaction that hands out a batch, renewed while a request
  runs (each request is bounded as a whole by ``[crm] timeout``); a syncer that finds
  it taken stops at once, cancelling its request.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog
from ulid import ULID

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.replies import render_reply
from gateway.crm import protocol
from gateway.crm.client import CrmClient
from gateway.exceptions import CrmBadAnswer, CrmError, CrmUnreachable
from gateway.lockfile import holder_alive
from gateway.runtime import wait_event
from gateway.store import STORE_ERRORS, BatchRow, LeaseTerms, PushResult, StatusUpdate, Store, TicketRow, stamp
from gateway.store.sync import LeaseTaken
from sim_bank import EncodeError
from sim_bank.backoff import backoff_delay
from sim_bank.pdu import count_parts

log = structlog.get_logger("gateway.crm.sync")
T = TypeVar("T")

LEASE_TTL = 30.0  # seconds, at least (3 request timeouts when those are longer); renewed every third of it
NAP = LEASE_TTL / 3
LEASE_TICK = 1.0  # seconds between looks at the lease while a request runs (a write only when renewal is due)
MAX_PAGES = 100  # update pages pulled in one cycle: a long backlog cannot hold back the push of new tickets
UPDATES_LIMIT = 1000  # updates asked for per page (`limit`): a backlog comes in pages, not one huge answer
UPDATE_CHUNK = 200  # updates applied per write transaction: intake waits for the writer at most one chunk
RETRY_BASE = 2.0  # seconds before the first retry after a failed push; doubles up to [crm] backoff_max
STORE_RETRY = 5.0


class LeaseLost(CrmError):
    """Another syncer took over (this one stalled longer than the lease): stop, it carries on."""


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
    more_updates: bool = False  # the pull stopped at MAX_PAGES: the next cycle comes at once
    error: str | None = None


class SyncService:
    def __init__(
        self,
        store: Store,
        config: Config,
        catalogue: Catalogue,
        *,
        holder: str,
        on_notice: Callable[[], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        retry_base: float = RETRY_BASE,
        lease_ttl: float | None = None,
        lease_tick: float = LEASE_TICK,
        update_chunk: int = UPDATE_CHUNK,
        updates_limit: int = UPDATES_LIMIT,
    ) -> None:
        self.store = store
        self.config = config
        self.crm = config.crm
        self.catalogue = catalogue
        self.holder = holder
        self._on_notice = on_notice
        self._on_progress = on_progress
        self._clock = clock  # wall time: signatures and timestamps
        self._mono = monotonic  # intervals: naps and lease renewals (an NTP step must not stall them)
        self._ttl = lease_ttl if lease_ttl is not None else max(LEASE_TTL, 3 * self.crm.timeout)
        self._tick = lease_tick
        self._chunk = max(1, update_chunk)
        self._limit = max(1, updates_limit)
        self._rand = rand
        self._retry_base = retry_base
        self._wake = asyncio.Event()
        self._failures = 0
        self._renewed: float | None = None
        self.link = "unknown"

    def client(self) -> CrmClient:
        ca = self.config.resolve(self.crm.ca_file) if self.crm.ca_file else None
        return CrmClient(self.crm, self.config.site.id, ca_file=ca, clock=self._clock)

    def wake(self) -> None:
        """Something changed (a ticket opened, ``sync now`` asked): look again now."""
        self._wake.set()

    # ------------------------------------------------------------------ the daemon's loop

    async def run(self) -> None:
        """Until cancelled: hold the lease, push, pull; probe while the link is down; back off
        while the CRM fails. Never raises (except cancellation)."""
        if not self.crm.enabled:
            return
        self._warn_about_config()
        async with self.client() as crm:
            try:
                while True:
                    wait = await self._round(crm)
                    await self._nap(wait)
            finally:
                with contextlib.suppress(*STORE_ERRORS):
                    await asyncio.shield(self.store.release_sync_lease(self.holder))

    async def _round(self, crm: CrmClient) -> float:
        """One turn of the loop; returns the seconds to wait before the next."""
        requested = False
        try:
            other = await self._take_lease()
            if other is not None:
                self._renewed = None
                return NAP  # `gateway sync now` is pushing in the foreground
            self._renewed = self._mono()
            requested = await self._requested()
            if self.link == "down" and not requested and not await crm.health():
                return self.crm.probe_interval
            report = await self._cycle(crm)
            await self._finish_request(requested, report)
            return 0.0 if report.more_updates else self.crm.pull_interval
        except LeaseLost:
            log.warning("crm_sync_lease_lost", holder=self.holder)
            return NAP
        except CrmUnreachable as exc:
            await self._record_failure("down", str(exc), self.crm.probe_interval)
            await self._finish_request(requested, CycleReport(error=str(exc)))
            return self.crm.probe_interval
        except CrmError as exc:  # Backoff, or a request that could not be made
            self._failures += 1
            delay = backoff_delay(
                self._failures, base=self._retry_base, cap=self.crm.backoff_max, jitter=0.5, rand=self._rand
            )
            retry_after = exc.retry_after if isinstance(exc, Backoff) else None
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.crm.backoff_max))
            await self._record_failure("up", str(exc), delay)
            await self._finish_request(requested, CycleReport(error=str(exc)))
            return delay
        except STORE_ERRORS as exc:
            log.error("sync_store_error", error=str(exc))
            return STORE_RETRY
        except Exception:  # a defect must not end syncing for good: log it, try again later
            log.exception("sync_round_failed")
            return self.crm.backoff_max

    async def _nap(self, seconds: float) -> None:
        """Sleep up to ``seconds``, renewing the lease when due; wake early when asked to (a
        new ticket while the link is up and the CRM is not failing, or ``sync now``)."""
        deadline = self._mono() + seconds
        while (left := deadline - self._mono()) > 0:
            self._wake.clear()
            await wait_event(self._wake, min(left, NAP))
            try:
                if self._wake.is_set() and await self._worth_waking():
                    return
                if self._renewed is not None:
                    await self._renew_lease()
            except LeaseLost:
                return
            except STORE_ERRORS as exc:
                log.warning("sync_store_error", error=str(exc))

    async def _worth_waking(self) -> bool:
        if await self._requested():
            return True
        if self.link != "up" or self._failures:
            return False
        return await self.store.has_queued_tickets()

    async def _requested(self) -> bool:
        state = await self.store.sync_state()
        return state.get("request_at", "") > state.get("request_done_at", "")

    async def _finish_request(self, requested: bool, report: CycleReport) -> None:
        if not requested:
            return
        try:
            await self.store.set_sync_state(request_done_at=stamp(), request_error=report.error or "")
        except STORE_ERRORS as exc:
            log.error("sync_store_error", error=str(exc))

    # ------------------------------------------------------------------ one cycle

    async def cycle(self, crm: CrmClient | None = None) -> CycleReport:
        """One push of everything queued and one pull, in the foreground. Raises
        :class:`CrmError` when the CRM cannot be reached or keeps failing."""
        if crm is None:
            async with self.client() as own:
                return await self._cycle(own)
        return await self._cycle(crm)

    async def record_error(self, exc: CrmError) -> None:
        """Note a failed foreground cycle where ``gateway sync status`` shows it."""
        await self._record_failure("down" if isinstance(exc, CrmUnreachable) else "up", str(exc), 0.0)

    async def _cycle(self, crm: CrmClient) -> CycleReport:
        """Push, then pull -- the pull also when the push failed (a ticket the CRM will not take
        must not keep status news from customers), but not when the link is down."""
        report = CycleReport()
        await self.store.set_sync_state(last_attempt_at=stamp())
        push_error: CrmError | None = None
        try:
            await self._push_all(crm, report)
        except (Backoff, CrmBadAnswer) as exc:
            push_error = exc
        try:
            await self._pull(crm, report)
            pull_error = ""
        except (Backoff, CrmBadAnswer) as exc:
            pull_error = str(exc)
            log.warning("crm_pull_failed", error=pull_error)
        await self._set_link("up")
        await self.store.set_sync_state(pull_error=pull_error)
        if report.synced or report.rejected or report.updates:
            log.info(
                "crm_synced",
                synced=report.synced,
                rejected=report.rejected,
                updates=report.updates,
                notices=report.notices,
            )
        if push_error is not None:
            raise push_error
        self._failures = 0
        await self.store.set_sync_state(last_success_at=stamp(), last_error=pull_error, next_attempt_at="")
        return report

    async def _push_all(self, crm: CrmClient, report: CycleReport) -> None:
        while True:
            now = self._mono()
            try:  # the batch is handed out in the transaction that extends this syncer's lease
                batch = await self.store.next_batch(self._new_id, self.crm.batch_size, self._body, lease=self._terms())
            except LeaseTaken as exc:
                self._renewed = None
                raise LeaseLost(f"the sync lease went to {exc.holder}") from None
            self._renewed = now
            if batch is None:
                return
            await self._push(crm, batch, report)

    async def _push(self, crm: CrmClient, batch: BatchRow, report: CycleReport) -> None:
        await self._renew_lease()
        try:
            answer = await self._holding_lease(crm.push(batch.id, batch.body))
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
                await self.store.apply_batch(batch, [PushResult(ticket_id, "rejected", error=outcome.reason)])
                report.rejected += 1
                log.warning("crm_rejected_ticket", ticket_id=ticket_id, error=outcome.reason)
                self._progress(1)
                return
            halves = await self.store.split_batch(batch, self._new_id, self._body)
            log.info("crm_batch_split", batch_id=batch.id, tickets=len(batch.tickets), reason=outcome.reason)
            for half in halves:
                await self._push(crm, half, report)
            return
        settled = await self.store.apply_batch(batch, outcome.results)
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

    async def _pull(self, crm: CrmClient, report: CycleReport) -> None:
        """Page by page from the stored cursor; each page in chunks. ``cursor_skip`` counts the
        updates after ``cursor`` that are already applied (a page cut short by a crash or a
        stop): they are not applied again, so no customer is told the same news twice."""
        state = await self.store.sync_state()
        cursor = state.get("cursor")
        skip = _count(state.get("cursor_skip"))
        for _ in range(MAX_PAGES):
            await self._renew_lease()
            try:
                page = await self._holding_lease(crm.updates(cursor, self._limit))
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
            result = await self.store.apply_updates(chunk, lambda t, u: self._notice(t, u, report), state=where)
            report.updates += result.applied
            report.unknown_updates += result.unknown
            report.notices += len(result.notices)
            if result.unknown:
                log.warning("crm_updates_unknown_ticket", updates=result.unknown)
            if result.notices and self._on_notice is not None:
                self._on_notice()
            if number < len(chunks):
                await self._renew_lease()
                await asyncio.sleep(0)  # intake's writes, queued behind this chunk, go now

    # ------------------------------------------------------------------ pieces

    def _new_id(self) -> str:
        return f"{self.config.site.id}-{ULID()}"

    def _body(self, batch_id: str, tickets: list[TicketRow]) -> bytes:
        return protocol.push_body(self.config.site.id, batch_id, [t.as_push() for t in tickets])

    def _notice(self, ticket: TicketRow, update: StatusUpdate, report: CycleReport) -> str | None:
        """The SMS for an update: the CRM's own text in the customer's language, cleaned of
        control characters, when it fits ``[conversation] reply_max_parts``; else the
        catalogue's template for that status (which check-config holds to that limit); None
        (nothing queued, the update still applied) when not even that can be encoded."""
        text = update.message.get(ticket.language, "")  # cleaned where it was read (sync_protocol)
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
        template = self._template(ticket, update)
        try:
            count_parts(template)
        except EncodeError as exc:
            report.notices_unsent += 1
            log.error("crm_notice_unsent", ticket_id=ticket.id, reason=str(exc))
            return None
        return template

    def _template(self, ticket: TicketRow, update: StatusUpdate) -> str:
        code = self.catalogue.code(ticket.code)
        lang = ticket.language
        label = (code.labels.get(lang) or code.labels.get("en") or ticket.category) if code else ticket.category
        values = {
            "ref": ticket.ref,
            "label": label,
            "status": self.catalogue.status_label(update.status, lang),
            "account": ticket.account or "",
            "code": ticket.code,
        }
        return render_reply(self.catalogue, self.catalogue.update_reply(update.status), lang, values)

    async def _renew_lease(self) -> None:
        """Keep the lease (a write every third of its life); :class:`LeaseLost` when another
        syncer has it now."""
        now = self._mono()
        if self._renewed is not None and now - self._renewed < self._ttl / 3:
            return
        other = await self._take_lease()
        if other is not None:
            self._renewed = None
            raise LeaseLost(f"the sync lease went to {other}")
        self._renewed = now

    async def _holding_lease(self, request: Awaitable[T]) -> T:
        """Run one CRM request while keeping the lease (it may last up to ``[crm] timeout``):
        the lease never runs out under a request, so ``sync status`` names this syncer and
        ``sync now`` asks it instead of pushing the same batch. If another syncer took the
        lease all the same (this process stalled), the request is cancelled: :class:`LeaseLost`."""
        task = asyncio.ensure_future(request)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._tick)
                if done:
                    return task.result()
                try:
                    await self._renew_lease()
                except STORE_ERRORS as exc:  # the request is bounded; try again at the next tick
                    log.warning("sync_store_error", error=str(exc))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    async def _take_lease(self) -> str | None:
        return await self.store.take_sync_lease(
            self.holder, self._ttl, holder_alive, now=self._now(), monotonic=self._mono()
        )

    def _terms(self) -> LeaseTerms:
        return LeaseTerms(self.holder, self._ttl, holder_alive, self._now(), self._mono())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _progress(self, n: int) -> None:
        if self._on_progress is not None:
            self._on_progress(n)

    async def _set_link(self, link: str) -> None:
        if link != self.link:
            log.info("crm_link_" + link, previous=self.link)
            self.link = link
            await self.store.set_sync_state(link=link, link_since=stamp())

    async def _record_failure(self, link: str, error: str, retry_in: float) -> None:
        log.warning("crm_sync_failed", link=link, error=error, retry_in=round(retry_in, 1))
        try:
            await self._set_link(link)
            nxt = stamp(datetime.now(UTC) + timedelta(seconds=min(retry_in, 86400.0)))
            await self.store.set_sync_state(last_error=error, next_attempt_at=nxt)
        except STORE_ERRORS as exc:
            log.error("sync_store_error", error=str(exc))

    def _warn_about_config(self) -> None:
        if not self.crm.secret:
            log.warning("crm_unsigned", note="[crm] secret is empty: requests are not signed")
        url = self.crm.url
        if url.startswith("http://") and self.crm.token and not url.startswith(("http://127.", "http://localhost")):
            log.warning("crm_token_in_clear", note="the token goes over plain http; use https")


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0
