"""What to do after a failed send (pure): retry, give up, or record an unknown outcome."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.config import SendConfig
from gateway.store import OutboxRow
from sim_bank import EncodeError, ModemUnavailable, SendFailed
from sim_bank.backoff import backoff_delay


@dataclass(frozen=True)
class Verdict:
    """What to do after a failed send (see :func:`judge`)."""

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


def sims_fault(exc: Exception) -> bool:
    """Whether a failed send says something about the SIM or its network (not the message,
    not a modem that was simply gone)."""
    if isinstance(exc, SendFailed):
        return not exc.permanent
    return not isinstance(exc, ModemUnavailable | EncodeError)


def reason(exc: Exception) -> str:
    """A failed send's reason, for the outbox row and the logs."""
    if isinstance(exc, SendFailed):
        code = f" (+CMS ERROR: {exc.cms_code})" if exc.cms_code is not None else ""
        return f"{exc.modem_id}: {exc.reason}{code}"
    return str(exc) or type(exc).__name__


_ERROR_CODE = re.compile(r"\+?CM[SE] ERROR:?\s*(\d+)", re.I)


def error_code(error: str) -> str:
    """The +CMS/+CME code in a send error (``"38"``), or ``"none"`` (a timeout, a modem gone):
    what ``gateway stats`` counts per SIM."""
    m = _ERROR_CODE.search(error or "")
    return m.group(1) if m else "none"
