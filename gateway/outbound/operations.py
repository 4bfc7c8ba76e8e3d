"""Messages out by hand: ``gateway send``, ``POST /api/v1/messages`` and ``gateway outbox``,
as library functions (:func:`send_message` on an open store: the API's one for the process).

A message no SIM could ever send (more parts than any SIM may send in one minute) is
refused before anything is queued: :func:`check_length`, also used by broadcasts.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from gateway.config import Config
from gateway.exceptions import GatewayError, MessageTooLong
from gateway.outbound.quotas import QuotaConfig, sim_limits
from gateway.store import OutboxRow
from gateway.store.configured import open_store
from gateway.store.rows_access import Actor
from sim_bank import EncodeError
from sim_bank.pdu import PART_LIMIT, SINGLE_LIMIT, Segments, segment

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.idempotency import Answer, Key

ACCEPTED = 202  # what a message queued by hand is answered over HTTP: queued, the daemon sends it


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


def recipient(config: Config, number: str) -> str:
    """``number`` (any rendering, digits in any script) as +E.164, or :class:`GatewayError`
    when it cannot be a mobile number of ``[site] region``'s plan."""
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        return to_e164(number, config.site.region, mobile=True)
    except InvalidNumber as exc:
        raise GatewayError(str(exc)) from None


def check_text(config: Config, text: str) -> Segments:
    """``text``'s SMS parts, or :class:`GatewayError`: empty, not an SMS, or longer than any
    SIM may send in one minute (:class:`MessageTooLong`, :func:`check_length`)."""
    if not text.strip():
        raise GatewayError("the message is empty")
    return check_length(config, text)


def fingerprint(number: str, text: str) -> str:
    """What a request under an idempotency key asked, as it asked it (SHA-256, hex): the same
    key with another fingerprint is another request."""
    asked = json.dumps({"to": number, "text": text}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(asked.encode()).hexdigest()


def queued_json(row: OutboxRow, encoding: str) -> dict[str, Any]:
    """A message just queued by hand: the outbox row as ``gateway send --json`` prints it, with
    ``to`` (the number as queued, +E.164) and its ``encoding`` (gsm7 | ucs2)."""
    return {**row.as_json(), "to": row.phone, "encoding": encoding}


async def send_message(
    store: Store, config: Config, number: str, text: str, *, actor: Actor, key: Key | None = None
) -> Answer:
    """Queue an SMS to ``number`` in the notification lane, as ``gateway send`` does, on an open
    store (the API's): the number made +E.164, the text checked (:func:`check_text`), a number
    that sent STOP refused (:class:`OptedOut`), nothing queued on any refusal. With ``key``: at
    most once per key -- a key already used is answered as it was the first time (``replayed``;
    compare ``request`` with :func:`fingerprint` to tell a retry from another request). The
    answer is ``202`` and :func:`queued_json`; the write is audited as ``actor``."""
    try:
        phone = recipient(config, number)
        encoding = check_text(config, text).encoding
    except GatewayError:
        kept = await store.kept_answer(key) if key is not None else None
        if kept is not None:  # answered before, under settings that allowed it then
            return kept
        raise

    def answer(row: OutboxRow) -> tuple[int, str]:
        return ACCEPTED, json.dumps(queued_json(row, encoding), ensure_ascii=False)

    return await store.send_once(
        phone, text, actor=actor, answer=answer, key=key, request=fingerprint(number, text) if key else ""
    )


async def queue_sms(config: Config, number: str, text: str, *, actor: Actor | None = None) -> OutboxRow:
    """``gateway send``: queue an SMS for the daemon to send (lane ``notification``), audited
    as the local account. Refuses, queueing nothing, what :func:`send_message` refuses."""
    import getpass
    import os

    who = actor or Actor.local(os.environ.get("USER") or getpass.getuser())
    async with await open_store(config, create=True) as store:
        answer = await send_message(store, config, number, text, actor=who)
        found = await store.outbox_row(answer.outbox_id) if answer.outbox_id is not None else None
        assert found is not None
        return found[0]


async def list_outbox(config: Config, status: str | None, limit: int) -> list[OutboxRow]:
    async with await open_store(config) as store:
        return await store.outbox(status=status, limit=limit)


def outbox_json(row: OutboxRow) -> dict[str, Any]:
    """``row`` with the contract's field names (``gateway outbox list --json``, a ticket's replies)."""
    return row.as_json()
