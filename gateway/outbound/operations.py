"""Messages out by hand: ``gateway send`` and ``gateway outbox``, as library functions.

A message no SIM could ever send (more parts than any SIM may send in one minute) is
refused before anything is queued: :func:`check_length`, also used by broadcasts.
"""

from __future__ import annotations

from typing import Any

from gateway.config import Config
from gateway.exceptions import GatewayError, MessageTooLong
from gateway.outbound.quotas import QuotaConfig, sim_limits
from gateway.store import OutboxRow
from gateway.store.configured import open_store
from sim_bank import EncodeError
from sim_bank.pdu import PART_LIMIT, SINGLE_LIMIT, Segments, segment


def longest_message(config: Config, lane: str = "notification") -> tuple[int, str]:
    """The most SMS parts one message in ``lane`` may have, and the settings that say so: what
    the roomiest SIM may send of that lane in one minute -- ``per_minute``, less the share every
    minute keeps for replies unless it is a reply. A message's parts go from one SIM (a handset
    joins parts from one sender only) and the operator's per-minute limit is law: a longer
    message could never leave, or only in a minute without any reply. Without [[modems]]
    (a simulated bank), the [quotas] settings."""
    q = config.quotas
    sims = list(sim_limits(config).items())
    if not sims:
        sims = [("", QuotaConfig(q.per_minute, q.per_day, q.reply_reserve))]
    sim, limits = max(sims, key=lambda s: s[1].minute_limit(lane))
    setting = "[quotas] per_minute" if not config.modems else f"per_minute of {sim}" if len(sims) == 1 else "per_minute"
    reserved = limits.per_minute - limits.minute_limit(lane)
    if reserved:
        setting += f" = {limits.per_minute}, less the {reserved} part(s) reply_reserve keeps for replies"
    return limits.minute_limit(lane), setting


def too_long(config: Config, seg: Segments, what: str = "the message", lane: str = "notification") -> str | None:
    """Why ``seg`` can never be sent in ``lane`` (more parts than any SIM's minute for that lane), or None."""
    limit, setting = longest_message(config, lane)
    parts = len(seg.parts)
    if parts <= limit:
        return None
    room = SINGLE_LIMIT[seg.encoding] if limit == 1 else PART_LIMIT[seg.encoding] * limit
    alphabet = "GSM characters" if seg.encoding == "gsm7" else "characters in Persian/Arabic (UCS-2)"
    return (
        f"{what} is {parts} SMS parts: more than any SIM may send in one minute ({limit}, {setting}); "
        f"shorten it to at most {limit} part(s) (about {room:,} {alphabet})"
    )


def check_length(config: Config, text: str, what: str = "the message", lane: str = "notification") -> Segments:
    """``text``'s SMS parts; raises :class:`MessageTooLong` (before anything is queued) when
    no SIM could ever send it in ``lane``, or :class:`GatewayError` when it cannot be an SMS at all."""
    try:
        seg = segment(text)
    except EncodeError as exc:
        raise GatewayError(str(exc)) from None
    reason = too_long(config, seg, what, lane)
    if reason:
        raise MessageTooLong(reason, len(seg.parts), longest_message(config, lane)[0])
    return seg


async def queue_sms(config: Config, number: str, text: str) -> OutboxRow:
    """Queue an SMS for the daemon to send (lane ``notification``). Refuses, queueing
    nothing, a text no SIM could send (:func:`check_length`)."""
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        phone = to_e164(number, config.site.region, mobile=True)
    except InvalidNumber as exc:
        raise GatewayError(str(exc)) from None
    if not text.strip():
        raise GatewayError("the message is empty")
    check_length(config, text)
    async with await open_store(config, create=True) as store:
        row_id = await store.enqueue(phone, text, lane="notification")
        return next(r for r in await store.outbox(limit=50) if r.id == row_id)


async def list_outbox(config: Config, status: str | None, limit: int) -> list[OutboxRow]:
    async with await open_store(config) as store:
        return await store.outbox(status=status, limit=limit)


def outbox_json(row: OutboxRow) -> dict[str, Any]:
    """``row`` with the contract's field names (``gateway outbox list --json``, a ticket's replies)."""
    return row.as_json()
