"""Outbox -> SIM bank: keep every ready modem busy, one message per modem at a time.

Rows are taken by priority (replies, then notifications, then broadcasts) and
id: every round looks at the rows due now and, besides them, a bounded number of
rows waiting out a retry backoff (a backlog in backoff never hides a due row).
:func:`gateway.outbound.choice.assign` (pure) decides which row goes to which free
modem; the store claims them in one transaction; each send runs as its own task.
A row is ``sent`` only once the modem answered ``+CMGS``.

Waking up is event driven: a new reply, a modem finishing or coming back,
another process committing to the database (``PRAGMA data_version``, polled by
the daemon), or the next retry falling due. No polling delay sits between an
SMS arriving and its reply's ``AT+CMGS``.

Every wait here is on the monotonic clock (quota windows, retry backoffs): the
database keeps wall-clock times for people and restarts, but a wall clock
stepped back never holds a message back.

Replies first: a reply that failed for a reason of the SIM or the network goes
to another SIM at once (the SIM that failed it waits out the backoff), and a
SIM whose last send failed (within ``failing_for``) gets no reply while a
healthy SIM has quota for it. What to do after a failed send is decided apart,
in :mod:`gateway.outbound.verdict` (pure).

A :class:`gateway.runtime.Service`: each round is one look at the queue; it waits
for a wake, or until a held-back row is due.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import structlog

from gateway.config import SendConfig
from gateway.events import Observer, OutboxDone
from gateway.outbound import choice, verdict
from gateway.outbound.choice import Capacity, Plan, assign, waiting_per_sim  # Capacity, assign: also imported from here
from gateway.outbound.quotas import QuotaBook
from gateway.runtime import BaseService, Clock, Intervals, Tasks, as_clock, retry_store
from gateway.store import STORE_ERRORS, OnAir, OutboxQueue, OutboxRow, stamp
from sim_bank import OutgoingSms, SendFailed, SimBank

log = structlog.get_logger("gateway.outbound.dispatcher")


FAILING_FOR = 60.0  # seconds a SIM whose last send failed gets no reply while a healthy SIM has quota (default)
MAX_NAP = 60.0  # seconds: the longest the dispatcher sleeps unwoken (calendar waits are looked at again; default)
LOOKAHEAD: Final = 200  # queued rows due by the wall clock looked at per round
WAITING: Final = 200  # and at most this many rows besides them still waiting out a retry backoff


class Dispatcher(BaseService):
    name = "dispatcher"
    # nothing to do unless woken; a database error: 0.5 s doubling to 30 s; at stop, a round
    # already claiming gets a moment to start its sends (which stop() then waits for)
    intervals = Intervals(idle=None, retry_base=0.5, retry_cap=30.0, grace=5.0)

    def __init__(
        self,
        store: OutboxQueue,
        bank: SimBank,
        send: SendConfig,
        *,
        quota: QuotaBook | None = None,
        operators: Mapping[str, Sequence[str]] | None = None,
        sim_operator: Mapping[str, str | None] | None = None,
        observer: Observer | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        failing_for: float = FAILING_FOR,
        max_nap: float = MAX_NAP,
    ) -> None:
        super().__init__()
        self.clock = as_clock(clock)
        self._failing_for = failing_for
        self._max_nap = max_nap
        self.store = store
        self.bank = bank
        self.send_config = send
        self.quota = quota
        self._operators = dict(operators or {})
        self._sim_operator = dict(sim_operator or {})
        self._observer = observer
        self._busy: set[str] = set()
        self._last_used: dict[str, float] = {}
        self.tasks = Tasks()  # sends in flight
        self._retry_due: dict[int, float] = {}  # failed row -> when it may be retried (monotonic)
        self._failed_at: dict[str, float] = {}  # SIM -> when its last send failed for a SIM or network reason

    async def step(self) -> float | None:
        """One look at the queue; a database error goes to the loop (``dispatcher_store_error``,
        then a backoff: a locked or full database is waited for, never given up on)."""
        return await self._dispatch()

    async def _dispatch(self) -> float | None:
        """Start every send that can start now. Returns how long to wait before looking
        again: 0 at once, None until something wakes us (a send ends, a modem returns,
        new work)."""
        ready = self.bank.ready()
        free = sorted((m for m in ready if m not in self._busy), key=lambda m: self._last_used.get(m, 0.0))
        if not free:
            return None  # every modem is busy: the next one to finish wakes us
        now = self.clock.wall()
        decided = Plan()

        def plan(rows: list[OutboxRow]) -> dict[int, str]:
            nonlocal decided
            cap = Capacity(
                free=free,
                ready=set(ready),
                wait=self._quota_wait,
                max_parts=self.quota.max_parts if self.quota is not None else None,
                sim_operator=self._sim_operator,
                operator_of=lambda phone: choice.operator_of(phone, self._operators),
                waiting=waiting_per_sim(rows),
                now=now,
                affinity=self.send_config.reply_affinity,
                retry_in=self._retries(rows, now),
                failing=self._failing(),
            )
            decided = assign(rows, cap)
            return decided.assignments

        claimed = await self.store.claim(plan, now=now, lookahead=LOOKAHEAD, waiting=WAITING)
        for row in claimed:
            assert row.modem_id is not None
            self._retry_due.pop(row.id, None)
            self._busy.add(row.modem_id)
            self._last_used[row.modem_id] = self.clock.monotonic()
            self.tasks.spawn(self._send(row))
        for row_id, reason in decided.impossible.items():
            await self.store.mark_final(row_id, "failed", reason, code=None, now=self.clock.wall())
            log.error("sms_send_failed", outbox_id=row_id, error=reason)
        if claimed or decided.impossible:
            return 0  # more work may fit the modems still free
        if decided.wake_in is None:  # nothing held back: what ends a send, or new work, wakes us
            return None
        return min(decided.wake_in, self._max_nap) + 0.01  # held back by quota, affinity or a retry

    def _retries(self, rows: Sequence[OutboxRow], now: datetime) -> dict[int, float]:
        """Seconds each failed row still waits before a retry, on the monotonic clock. A row this
        dispatcher did not put back (queued before a restart) is due when its stored time says,
        read once against the wall clock and at most ``retry_max`` away (that clock may have jumped)."""
        mono = self.clock.monotonic()
        at = stamp(now)  # as the store tells due rows from waiting ones
        backoff = sum(1 for r in rows if r.next_attempt_at is not None and r.next_attempt_at > at)
        if len(rows) - backoff < LOOKAHEAD and backoff < WAITING:
            # every queued row is here: forget the rows that left the queue
            present = {r.id for r in rows}
            for gone in [i for i in self._retry_due if i not in present]:
                del self._retry_due[gone]
        out: dict[int, float] = {}
        for row in rows:
            due = self._retry_due.get(row.id)
            if due is None and row.next_attempt_at is not None:
                left = (datetime.fromisoformat(row.next_attempt_at) - now).total_seconds()
                due = self._retry_due[row.id] = mono + min(max(0.0, left), self.send_config.retry_max)
            if due is not None and due > mono:
                out[row.id] = due - mono
        return out

    def _failing(self) -> frozenset[str]:
        """SIMs whose last send failed for a SIM or network reason, lately: after ``failing_for``
        one may take a reply again (a probe; if it fails, the reply moves on at once)."""
        horizon = self.clock.monotonic() - self._failing_for
        return frozenset(m for m, at in self._failed_at.items() if at > horizon)

    def _quota_wait(self, modem: str, row: OutboxRow) -> float:
        if self.quota is None:
            return 0.0
        parts = row.parts - row.parts_sent if modem == row.modem_id else row.parts
        return self.quota.wait(modem, row.lane, parts)

    def _on_air(self, row: OutboxRow, modem: str, references: tuple[int, ...], parts: int) -> OnAir | None:
        """Parts that went out in this attempt: count them against the SIM's quota."""
        if parts <= 0:
            return None
        if self.quota is not None:
            day = self.quota.record(modem, parts)  # the quota day, which a wall clock stepped back keeps
        else:
            day = self.clock.wall().date().isoformat()
        return OnAir(modem, day, row.lane, row.parts_sent + 1, references, parts)

    async def stop(self, drain_timeout: float | None = None) -> None:
        """Once the loop takes no more work: wait for sends in flight (their outcome is
        recorded). A send still unrecorded after ``drain_timeout`` (``[send] send_timeout``)
        stays ``sending`` and is retried at the next start."""
        await self.tasks.drain(self.send_config.send_timeout if drain_timeout is None else drain_timeout)

    async def _send(self, row: OutboxRow) -> None:
        modem = row.modem_id
        assert modem is not None
        sms = OutgoingSms(row.phone, row.text, concat_ref=row.concat_ref, skip_parts=row.parts_sent)
        try:
            result = await self.bank.send(modem, sms)
        except Exception as exc:  # noqa: BLE001 - every failure is judged and recorded, none is lost
            await self._failed(row, modem, exc)
        else:
            self._failed_at.pop(modem, None)
            on_air = self._on_air(row, modem, result.references, len(result.references))
            assert on_air is not None
            await self._persist("sent", lambda: self.store.mark_sent(row.id, on_air, row.parts, self.clock.wall()))
            log.info("sms_sent", outbox_id=row.id, modem_id=modem, lane=row.lane, parts=row.parts, to=row.phone,
                     text=row.text)  # fmt: skip
            self._emit(OutboxDone(row, "sent", modem))
        finally:
            self._busy.discard(modem)
            self.wake()

    async def _persist(self, what: str, write: Callable[[], Awaitable[None]]) -> None:
        """Record a send's outcome, however long the database needs: the modem has spoken,
        and the row must not stay ``sending`` (it would go out again after a restart)."""

        def logged(exc: Exception, delay: float) -> None:
            log.error("outbox_write_failed", outcome=what, error=str(exc), retry_in=delay)

        await retry_store(write, errors=STORE_ERRORS, clock=self.clock, on_error=logged)

    async def _failed(self, row: OutboxRow, modem: str, exc: Exception) -> None:
        judged = verdict.judge(row, exc, self.send_config)
        why = verdict.reason(exc)
        if verdict.sims_fault(exc):
            self._failed_at[modem] = self.clock.monotonic()
        on_air = None
        if isinstance(exc, SendFailed):  # an unconfirmed last part counts against the quota too
            parts = exc.on_air - row.parts_sent + (1 if exc.unknown else 0)
            on_air = self._on_air(row, modem, exc.references, parts)
        if judged.status == "unclaimed":
            await self._persist("unclaimed", lambda: self.store.mark_unclaimed(row.id))
            log.info("sms_requeued", outbox_id=row.id, modem_id=modem, reason=why)
            return
        if judged.status == "retry":
            retry_in = judged.retry_in or 0.0
            self._retry_due[row.id] = self.clock.monotonic() + retry_in
            retry_at = self.clock.wall() + timedelta(seconds=retry_in)  # for people and restarts
            await self._persist(
                "retry",
                lambda: self.store.mark_retry(
                    row.id,
                    why,
                    retry_at,
                    judged.parts_sent,
                    on_air,
                    code=verdict.error_code(why),
                    now=self.clock.wall(),
                ),
            )
            log.warning("sms_send_retry", outbox_id=row.id, modem_id=modem, error=why, retry_in=judged.retry_in)
        else:
            await self._persist(
                judged.status,
                lambda: self.store.mark_final(
                    row.id, judged.status, why, on_air, code=verdict.error_code(why), now=self.clock.wall()
                ),
            )
            log.error("sms_send_" + judged.status, outbox_id=row.id, modem_id=modem, error=why)
        self._emit(OutboxDone(row, judged.status, modem, why))

    def _emit(self, event: OutboxDone) -> None:
        if self._observer is not None:
            self._observer(event)
