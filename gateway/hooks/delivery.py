"""The daemon's webhook service: each journalled event POSTed to each hook that subscribed to
it, in journal order per hook, signed as the CRM sync signs (:func:`gateway.crm.protocol.
request_headers`) plus ``X-Gateway-Event-Id``.

Its own loop, its own HTTP client: a dead or slow receiver costs this service time, never
intake's or the dispatcher's. Each hook is served by a task of its own (at most
:data:`CONCURRENCY` posting at once), so a slow receiver delays only its own events; each
request is bounded as a whole (connect, send, the answer's status line) by ``timeout``, and a
hook's turn posts for at most :data:`ROUND_BUDGET` seconds before its cursor is committed.

2xx is delivered; anything else (another status, a redirect, no answer) is tried again on
the schedule of :mod:`gateway.hooks.rules`, the same event first: a hook's events never
overtake each other. The cursor (the last event delivered) is committed after each run of
deliveries and at each failure, not after each event: a receiver may see an event again
after a kill -9 of the daemon (those it acknowledged since the last commit, at most
:data:`BATCH`), always with the same ``X-Gateway-Event-Id`` and body -- at least once,
deduplicated by id. A clean stop commits what was delivered.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import structlog

from gateway.crm.protocol import request_headers
from gateway.hooks.rules import next_try
from gateway.runtime import BaseService, Clock, Intervals
from gateway.store.protocols_hooks import HookQueue
from gateway.store.rows_events import EventRow, WebhookRow

log = structlog.get_logger("gateway.hooks")

EVENT_ID_HEADER = "X-Gateway-Event-Id"
USER_AGENT = "sms-fallback-gateway/0.1 (webhooks)"
TIMEOUT = 10.0  # seconds for one whole request
CONCURRENCY = 8  # hooks posted to at once
BATCH = 20  # events read per hook per round; the cursor is committed at least this often
ROUND_BUDGET = 2.0  # seconds of posting per hook per round (then the cursor is committed)
IDLE = 1.0  # seconds between rounds when nobody wakes the service
COALESCE = 0.1  # seconds at least between two rounds, however many events wake it (300 SMS/s)


class WebhookService(BaseService):
    name = "webhooks"

    def __init__(
        self,
        store: HookQueue,
        clock: Clock,
        *,
        timeout: float = TIMEOUT,
        concurrency: int = CONCURRENCY,
        idle: float = IDLE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.intervals = Intervals(idle=idle, coalesce=COALESCE)
        self.store = store
        self.clock = clock
        self.timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        # per hook, a seq up to which the journal holds none of its types (a hook for rare
        # events does not read past thousands of others each round); lost at a restart
        self._scanned: dict[int, int] = {}
        self._turns: dict[int, asyncio.Task[None]] = {}  # per hook, the task posting its events

    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,  # a redirect is a wrong URL: say so rather than post elsewhere
            headers={"User-Agent": USER_AGENT},
            transport=self._transport,
        )

    async def stop(self) -> None:
        """Let the hooks' turns finish (one request each at most, then their cursors' commit),
        bounded; then close the client."""
        turns = list(self._turns.values())
        if turns:
            _, late = await asyncio.wait(turns, timeout=self.timeout + 1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*turns, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    async def step(self) -> None:
        """One round: a turn for every hook whose time has come and that has none running."""
        now = self.clock.wall()
        for hook in await self.store.active_webhooks():
            if hook.id not in self._turns and _due(hook, now):
                self._turns[hook.id] = asyncio.create_task(self._turn(hook), name=f"webhook-{hook.id}")

    async def _turn(self, hook: WebhookRow) -> None:
        more = False
        try:
            more = await self._serve(hook)
        except Exception:  # a database hiccup: the next round tries again from the cursor
            log.exception("webhook_turn_failed", hook_id=hook.id)
        finally:
            self._turns.pop(hook.id, None)
        if more:
            self.wake()

    async def _serve(self, hook: WebhookRow) -> bool:
        """Post the hook's next events in order until one fails or the budget is spent; True
        when more may be waiting."""
        async with self._slots:
            # the hook as it stands now: the row the round read may be older than the cursor a
            # turn that ended meanwhile committed (its events would go again)
            current = await self.store.active_webhook(hook.id)
            if current is None:  # removed or dead meanwhile
                return False
            hook = current
            top = await self.store.last_event_seq()
            events = await self.store.webhook_events(hook, BATCH, after=self._scanned.get(hook.id), upto=top)
            if not events:  # none of its types up to top: the next round reads on from there
                self._scanned[hook.id] = top
            started = time.monotonic()
            delivered: EventRow | None = None
            failing_since = hook.failing_since
            try:
                for event in events:
                    error = await self._post(hook, event)
                    if error is None:
                        delivered, failing_since = event, None
                        if time.monotonic() - started > ROUND_BUDGET:
                            return True
                        continue
                    if delivered is not None:  # first the cursor, then the failure of the next event
                        await self.store.webhook_delivered(hook.id, delivered.seq, self.clock.wall())
                        delivered = None
                    await self._failed(hook, event, error, hook.attempts if failing_since else 0, failing_since)
                    return False
                return len(events) == BATCH
            finally:
                if delivered is not None:
                    await self.store.webhook_delivered(hook.id, delivered.seq, self.clock.wall())

    async def _failed(
        self, hook: WebhookRow, event: EventRow, error: str, attempts: int, failing_since: str | None
    ) -> None:
        now = self.clock.wall()
        since = datetime.fromisoformat(failing_since) if failing_since else now
        retry = next_try(attempts + 1, since, now)
        if retry is None:
            log.error("webhook_dead", hook_id=hook.id, event_id=event.id, error=error, failing_since=failing_since)
        else:
            log.warning("webhook_failed", hook_id=hook.id, event_id=event.id, error=error, attempts=attempts + 1)
        await self.store.webhook_failed(hook.id, error, retry, dead=retry is None, now=now)

    async def _post(self, hook: WebhookRow, event: EventRow) -> str | None:
        """None when the receiver answered 2xx; else what went wrong (never the secret or body)."""
        assert self._http is not None, "start() first"
        body = event.body()
        headers = request_headers(token="", secret=hook.secret, body=body, now=time.time())
        headers[EVENT_ID_HEADER] = event.id
        try:
            async with asyncio.timeout(self.timeout):  # the whole request, however the receiver trickles
                async with self._http.stream("POST", hook.url, content=body, headers=headers) as answer:
                    status = answer.status_code
        except (TimeoutError, httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s"
        except httpx.TransportError as exc:  # refused, reset, DNS, TLS
            reason = str(exc) or type(exc).__name__
            return f"{type(exc).__name__}: {reason[:200]}"
        if 200 <= status < 300:
            return None
        if 300 <= status < 400:
            return f"HTTP {status} (redirects are not followed: check the URL)"
        return f"HTTP {status}"


def _due(hook: WebhookRow, now: datetime) -> bool:
    return hook.next_attempt_at is None or datetime.fromisoformat(hook.next_attempt_at) <= now
