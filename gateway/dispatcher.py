"""Outbox -> SIM bank: keep every ready modem busy, one message per modem at a time.

Rows are taken by priority (replies, then notifications, then broadcasts) and
id. :func:`assign` (pure) decides which row goes to which free modem; the
store claims them in one transaction; each send runs as its own task. A row is
``sent`` only once the modem answered ``+CMGS``.

Waking up is event driven: a new reply, a modem finishing or coming back,
another process committing to the database (``PRAGMA data_version``, polled by
the daemon), or the next retry falling due. No polling delay sits between an
SMS arriving and its reply's ``AT+CMGS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from sim_bank.backoff import backoff_delay
from sim_bank.bank import SimBank
from sim_bank.exceptions import EncodeError, ModemUnavailable, SendFailed
from sim_bank.types import OutgoingSms

from .config import SendConfig
from .events import Observer, OutboxDone
from .store import OutboxRow, Store, utcnow

log = structlog.get_logger("gateway.dispatcher")


def assign(rows: Iterable[OutboxRow], free: list[str], ready: set[str]) -> dict[int, str]:
    """Which free modem sends which row (pure).

    ``rows`` come in priority order. A row that must stay on one SIM -- a
    reply to the SIM the customer texted, or a long message whose first parts
    already went out from it -- waits for that SIM while it is healthy but
    busy; when that SIM is down, any free modem takes it. Other rows go to the
    free modems in the order given (least recently used first).
    """
    plan: dict[int, str] = {}
    available = list(free)
    for row in rows:
        if not available:
            break
        own = row.modem_id if row.parts_sent else row.modem_hint
        if own and own in ready:
            if own in available:
                plan[row.id] = own
                available.remove(own)
            continue
        plan[row.id] = available.pop(0)
    return plan


@dataclass(frozen=True)
class Verdict:
    """What to do after a failed send (pure decision, see :func:`judge`)."""

    status: str  # retry | failed | unknown | unclaimed
    retry_in: float | None = None
    parts_sent: int = 0


def judge(row: OutboxRow, exc: Exception, send: SendConfig) -> Verdict:
    """Retry, give up, or record an unknown outcome.

    * the modem was gone before anything went out: back in the queue, no attempt counted;
    * the message itself is refused (bad number, +CMS 1, 96, ...): failed;
    * no answer after the PDU was written: the message may be on air. A reply
      to a customer is retried (a second copy beats silence); a notification
      or broadcast is recorded ``unknown`` and not resent blindly;
    * anything else: retried with backoff until ``max_attempts``.
    """
    if isinstance(exc, ModemUnavailable):
        return Verdict("unclaimed", parts_sent=row.parts_sent)
    if isinstance(exc, EncodeError):
        return Verdict("failed")
    if not isinstance(exc, SendFailed):
        return Verdict("retry", backoff_delay(row.attempts, base=send.retry_base, cap=send.retry_max), row.parts_sent)
    if exc.permanent:
        return Verdict("failed", parts_sent=exc.on_air)
    if exc.unknown and row.lane != "reply":
        return Verdict("unknown", parts_sent=exc.on_air)
    if row.attempts >= send.max_attempts:
        return Verdict("failed", parts_sent=exc.on_air)
    return Verdict("retry", backoff_delay(row.attempts, base=send.retry_base, cap=send.retry_max), exc.on_air)


class Dispatcher:
    def __init__(self, store: Store, bank: SimBank, send: SendConfig, *, observer: Observer | None = None) -> None:
        self.store = store
        self.bank = bank
        self.send_config = send
        self._observer = observer
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._last_used: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            ready = self.bank.ready()
            free = sorted((m for m in ready if m not in self._busy), key=lambda m: self._last_used.get(m, 0.0))
            if free:
                claimed = await self.store.claim(functools.partial(assign, free=free, ready=set(ready)))
                for row in claimed:
                    assert row.modem_id is not None
                    self._busy.add(row.modem_id)
                    self._last_used[row.modem_id] = loop.time()
                    task = asyncio.create_task(self._send(row))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if claimed:
                    continue  # more work may fit other free modems
            await self._sleep()

    async def _sleep(self) -> None:
        timeout = None
        next_retry = await self.store.next_retry_at()
        if next_retry is not None:
            timeout = max(0.0, (next_retry - utcnow()).total_seconds()) + 0.01
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop taking work; wait for sends in flight (their outcome is recorded)."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_timeout)

    async def _send(self, row: OutboxRow) -> None:
        modem = row.modem_id
        assert modem is not None
        sms = OutgoingSms(row.phone, row.text, concat_ref=row.concat_ref, skip_parts=row.parts_sent)
        try:
            result = await self.bank.send(modem, sms)
        except Exception as exc:  # noqa: BLE001 - every failure is judged and recorded, none is lost
            await self._failed(row, modem, exc)
        else:
            await self.store.mark_sent(row.id, modem, result.references, row.parts)
            log.info("sms_sent", outbox_id=row.id, modem_id=modem, lane=row.lane, parts=row.parts, to=row.phone)
            self._emit(OutboxDone(row, "sent", modem))
        finally:
            self._busy.discard(modem)
            self._wake.set()

    async def _failed(self, row: OutboxRow, modem: str, exc: Exception) -> None:
        verdict = judge(row, exc, self.send_config)
        reason = _reason(exc)
        refs = exc.references if isinstance(exc, SendFailed) else ()
        if verdict.status == "unclaimed":
            await self.store.mark_unclaimed(row.id)
            log.info("sms_requeued", outbox_id=row.id, modem_id=modem, reason=reason)
            return
        if verdict.status == "retry":
            retry_at = utcnow() + timedelta(seconds=verdict.retry_in or 0)
            await self.store.mark_retry(row.id, reason, retry_at, verdict.parts_sent, refs)
            log.warning("sms_send_retry", outbox_id=row.id, modem_id=modem, error=reason, retry_in=verdict.retry_in)
        else:
            await self.store.mark_final(row.id, verdict.status, reason)
            log.error("sms_send_" + verdict.status, outbox_id=row.id, modem_id=modem, error=reason)
        self._emit(OutboxDone(row, verdict.status, modem, reason))

    def _emit(self, event: OutboxDone) -> None:
        if self._observer is not None:
            self._observer(event)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SendFailed):
        code = f" (+CMS ERROR: {exc.cms_code})" if exc.cms_code is not None else ""
        return f"{exc.modem_id}: {exc.reason}{code}"
    return str(exc) or type(exc).__name__
