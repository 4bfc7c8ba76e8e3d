"""Store and forward to the CRM: push queued tickets exactly once, in order; pull status
changes and tell customers by SMS. Protocol v1: ``docs/crm-sync.md``.

The daemon runs :class:`SyncService` on the runtime loop; ``gateway sync now`` runs one
foreground cycle (:meth:`SyncService.cycle`); both share everything below. One syncer
per database holds a lease (:mod:`gateway.crm.lease`); ``sync now`` with a daemon
running asks the daemon to sync instead of pushing the same batch alongside it.

* Push (:mod:`gateway.crm.push`): 2xx results settle tickets; 408/429/5xx/a page that is
  not JSON retry the same batch after a capped, jittered backoff (or ``Retry-After``),
  forever; another 4xx splits the batch until the one ticket the CRM refuses is found.
  No answer at all: the link is down; ``GET /health`` every ``probe_interval`` until it answers.
* Events (:mod:`gateway.crm.events`): the desk's changes (status, note, assignment,
  reply), after the tickets they belong to, each once under its own id.
* Pull (:mod:`gateway.crm.pull`): ``GET /updates`` from the stored cursor, page by page,
  applied in chunks, each chunk committed with the SMS it asks for.
* Between rounds the service naps (at most ``nap`` seconds at a time, renewing the lease);
  a wake ends the nap only when it is worth it: ``sync now`` asked, or a new ticket or a
  desk change while the link is up and the CRM is not failing.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.crm.client import CrmClient
from gateway.crm.events import EventPusher
from gateway.crm.lease import Lease, LeaseLost
from gateway.crm.outages import OutagePusher
from gateway.crm.pull import Puller
from gateway.crm.push import Backoff, CycleReport, Pusher
from gateway.exceptions import CrmBadAnswer, CrmError, CrmUnreachable
from gateway.runtime import BaseService, Clock, as_clock
from gateway.store import STORE_ERRORS, stamp
from gateway.store.protocols_events import CrmEventsStore
from sim_bank.backoff import backoff_delay

log = structlog.get_logger("gateway.crm.sync")

LEASE_TTL = 30.0  # seconds, at least (3 request timeouts when those are longer); renewed every third of it
NAP = LEASE_TTL / 3  # seconds at most between two looks at the lease while napping (default)
LEASE_TICK = 1.0  # seconds between looks at the lease while a request runs (a write only when renewal is due)
UPDATES_LIMIT = 1000  # updates asked for per page (`limit`): a backlog comes in pages, not one huge answer
UPDATE_CHUNK = 200  # updates applied per write transaction: intake waits for the writer at most one chunk
RETRY_BASE = 2.0  # seconds before the first retry after a failed push; doubles up to [crm] backoff_max
STORE_RETRY = 5.0  # seconds before the next round after a database error (default)


class SyncService(BaseService):
    name = "crm-sync"

    def __init__(
        self,
        store: CrmEventsStore,
        config: Config,
        catalogue: Catalogue,
        *,
        holder: str,
        on_notice: Callable[[], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        rand: Callable[[], float] = random.random,
        retry_base: float = RETRY_BASE,
        lease_ttl: float | None = None,
        lease_tick: float = LEASE_TICK,
        update_chunk: int = UPDATE_CHUNK,
        updates_limit: int = UPDATES_LIMIT,
        nap: float = NAP,
        store_retry: float = STORE_RETRY,
    ) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.crm = config.crm
        self.holder = holder
        self.clock = as_clock(clock)  # wall: signatures and stamps; monotonic: naps and lease renewals
        ttl = lease_ttl if lease_ttl is not None else max(LEASE_TTL, 3 * self.crm.timeout)
        self.lease = Lease(store, holder, ttl, lease_tick, self.clock)
        self._pusher = Pusher(store, config.site.id, self.crm.batch_size, self.lease, on_progress)
        self._events = EventPusher(store, config.site.id, self.crm.batch_size, self.lease)
        self._outages = OutagePusher(store, config.site.id, self.crm.batch_size, self.lease)
        self._puller = Puller(
            store, config, catalogue, self.lease, chunk=update_chunk, limit=updates_limit, on_notice=on_notice
        )
        self._rand = rand
        self._retry_base = retry_base
        self._nap = nap
        self._store_retry = store_retry
        self._failures = 0
        self._due = 0.0  # monotonic: when the next round is wanted
        self._exit = contextlib.AsyncExitStack()
        self._crm: CrmClient | None = None
        self.link = "unknown"

    def client(self) -> CrmClient:
        ca = self.config.resolve(self.crm.ca_file) if self.crm.ca_file else None
        return CrmClient(self.crm, self.config.site.id, ca_file=ca, clock=lambda: self.clock.wall().timestamp())

    # ------------------------------------------------------------------ the daemon's service

    async def start(self) -> None:
        self._warn_about_config()
        self._crm = await self._exit.enter_async_context(self.client())

    async def step(self) -> float:
        """A round when one is due (hold the lease, push, pull; probe while the link is down;
        back off while the CRM fails), else a look at the lease. Never raises (except
        cancellation). Returns the wait, at most ``nap``."""
        assert self._crm is not None
        now = self.clock.monotonic()
        if now < self._due:  # napping
            try:
                if self.lease.renewed is not None:
                    await self.lease.renew()
                return min(self._due - now, self._nap)
            except LeaseLost:
                pass  # a round now: it finds out who has the lease
            except STORE_ERRORS as exc:
                log.warning("sync_store_error", error=str(exc))
                return min(self._due - now, self._nap)
        wait = await self._round(self._crm)
        self._due = self.clock.monotonic() + wait
        return min(wait, self._nap)

    async def worth_waking(self) -> bool:
        """Whether a wake ends the nap: ``sync now`` asked, or a new ticket or a desk change
        while the link is up and the CRM is not failing."""
        try:
            worth = await self._requested() or (
                self.link == "up"
                and not self._failures
                and (await self.store.has_queued_tickets() or await self.store.has_pending_events())
            )
        except STORE_ERRORS as exc:
            log.warning("sync_store_error", error=str(exc))
            return False
        if worth:
            self._due = 0.0
        return worth

    async def stop(self) -> None:
        try:
            with contextlib.suppress(*STORE_ERRORS):
                await self.lease.release()
        finally:
            self._crm = None
            await self._exit.aclose()

    async def _round(self, crm: CrmClient) -> float:
        """One round; returns the seconds to wait before the next."""
        requested = False
        try:
            other = await self.lease.take()
            if other is not None:
                self.lease.renewed = None
                return self._nap  # `gateway sync now` is pushing in the foreground
            self.lease.renewed = self.clock.monotonic()
            requested = await self._requested()
            if self.link == "down" and not requested and not await crm.health():
                return self.crm.probe_interval
            report = await self._cycle(crm)
            await self._finish_request(requested, report)
            return 0.0 if report.more_updates else self.crm.pull_interval
        except LeaseLost:
            log.warning("crm_sync_lease_lost", holder=self.holder)
            return self._nap
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
            return self._store_retry
        except Exception:  # a defect must not end syncing for good: log it, try again later
            log.exception("sync_round_failed")
            return self.crm.backoff_max

    async def _requested(self) -> bool:
        state = await self.store.sync_state()
        return state.get("request_at", "") > state.get("request_done_at", "")

    async def _finish_request(self, requested: bool, report: CycleReport) -> None:
        if not requested:
            return
        try:
            await self.store.set_sync_state(request_done_at=self._stamp(), request_error=report.error or "")
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
        """Push tickets, then the desk's changes, then pull -- the events and the pull also when
        the push failed (a ticket the CRM will not take must not keep news from either side),
        but not when the link is down. A failing events push or pull (a CRM without
        ``/ticket-events`` or ``/updates``) is reported, retried next round, and never holds
        back the ticket push."""
        report = CycleReport()
        await self.store.set_sync_state(last_attempt_at=self._stamp())
        push_error: CrmError | None = None
        try:
            await self._pusher.push_all(crm, report)
        except (Backoff, CrmBadAnswer) as exc:
            push_error = exc
        try:
            await self._events.push_all(crm, report)  # after the tickets; each event waits for its own
            events_error = ""
        except (Backoff, CrmBadAnswer) as exc:
            events_error = str(exc)
            log.warning("crm_events_failed", error=events_error)
        try:  # outages and their stages (POST /outages): a CRM without it holds nothing else back
            outages = await self._outages.push_all(crm)
            if outages:
                log.info("crm_outage_events_synced", events=outages)
        except (Backoff, CrmBadAnswer) as exc:
            events_error = "; ".join(e for e in (events_error, f"outages: {exc}") if e)
            log.warning("crm_outage_events_failed", error=str(exc))
        try:
            await self._puller.pull(crm, report)
            pull_error = ""
        except (Backoff, CrmBadAnswer) as exc:
            pull_error = str(exc)
            log.warning("crm_pull_failed", error=pull_error)
        await self._set_link("up")
        await self.store.set_sync_state(pull_error=pull_error, events_error=events_error)
        if report.synced or report.rejected or report.updates or report.events_sent or report.events_rejected:
            log.info(
                "crm_synced",
                synced=report.synced,
                rejected=report.rejected,
                events=report.events_sent,
                events_rejected=report.events_rejected,
                updates=report.updates,
                notices=report.notices,
            )
        if push_error is not None:
            raise push_error
        self._failures = 0
        last_error = "; ".join(e for e in (events_error, pull_error) if e)
        await self.store.set_sync_state(last_success_at=self._stamp(), last_error=last_error, next_attempt_at="")
        return report

    # ------------------------------------------------------------------ link state

    def _stamp(self) -> str:
        return stamp(self.clock.wall())

    async def _set_link(self, link: str) -> None:
        if link != self.link:
            log.info("crm_link_" + link, previous=self.link)
            self.link = link
            await self.store.set_sync_state(link=link, link_since=self._stamp())

    async def _record_failure(self, link: str, error: str, retry_in: float) -> None:
        log.warning("crm_sync_failed", link=link, error=error, retry_in=round(retry_in, 1))
        try:
            await self._set_link(link)
            nxt = stamp(self.clock.wall() + timedelta(seconds=min(retry_in, 86400.0)))
            await self.store.set_sync_state(last_error=error, next_attempt_at=nxt)
        except STORE_ERRORS as exc:
            log.error("sync_store_error", error=str(exc))

    def _warn_about_config(self) -> None:
        if not self.crm.secret:
            log.warning("crm_unsigned", note="[crm] secret is empty: requests are not signed")
        url = self.crm.url
        if url.startswith("http://") and self.crm.token and not url.startswith(("http://127.", "http://localhost")):
            log.warning("crm_token_in_clear", note="the token goes over plain http; use https")
