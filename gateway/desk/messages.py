"""Every SMS in and out (``gateway messages list|show``, ``gateway outbox show``): what a phone
said and what it was told, each received message with how the gateway routed it (a ticket,
a repeat, a menu turn, STOP, an unanswered flood, a machine's text) and each outbox row with
its delivery state. A phone's whole thread is :mod:`gateway.desk.threads`.

Ids: a received message is ``in-ID`` (its row in ``messages``), an outbox row ``out-ID``
(the id ``gateway outbox list`` and ``gateway send`` print): two tables, two id spaces, so
the prefix says which one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from gateway.exceptions import DeskError, NotFound

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import MessageLog, MessageRow, OutboxRow, TicketRow
    from gateway.store.threads import SentPart

Direction = Literal["in", "out"]
DIRECTIONS: tuple[Direction, ...] = ("in", "out")
FOLLOW_INTERVAL = 0.5  # seconds between two looks at the database (--follow)
ROUTING_WAIT = 5.0  # seconds --follow waits for a message to be routed before showing it unrouted

# how the gateway routed a received message (messages.action), in an agent's words
ROUTED = {
    "ticket": "opened {ref}",
    "merge": "repeat of {ref}",
    "status": "asked the status",
    "stop": "STOP (no more broadcasts)",
    "start": "START (broadcasts again)",
    "menu": "menu (not a code we know)",
    "ask_account": "menu: chose a code, asked for the account",
    "silent": "not answered: too many tickets this hour",
    "ignore": "never answered: {kind} sender",
}


@dataclass(frozen=True)
class Sms:
    """One SMS, received (``row`` a message) or queued to go out (``row`` an outbox row)."""

    row: MessageRow | OutboxRow
    ticket: TicketRow | None = None  # the ticket it opened, repeated, or is about
    replies: tuple[int, ...] = ()  # received: the outbox rows that answered it

    @property
    def direction(self) -> Direction:
        from gateway.store import MessageRow

        return "in" if isinstance(self.row, MessageRow) else "out"

    @property
    def id(self) -> str:
        return f"{self.direction}-{self.row.id}"

    @property
    def at(self) -> str:
        from gateway.store import MessageRow

        return self.row.received_at if isinstance(self.row, MessageRow) else self.row.created_at

    @property
    def routed(self) -> str:
        """Received: how the gateway routed it. Out: its lane and delivery state."""
        from gateway.store import MessageRow

        row, ref = self.row, self.ticket.ref if self.ticket else None
        if not isinstance(row, MessageRow):
            return f"{row.lane} {row.status}" + (f" ({ref})" if ref else "")
        if row.state == "new":
            return "not routed yet"
        if row.state == "failed":
            return f"routing failed: {row.error}"
        kind = (row.sender_kind or "unknown").replace("_", " ")
        words = ROUTED.get(row.action or "", row.action or "?").format(ref=ref or "a ticket", kind=kind)
        if row.action not in ("ignore", "silent") and not self.replies:
            words += "; not answered"
        return words

    def as_json(self) -> dict[str, Any]:
        """``messages list --json``: a ticket thread's fields (``at``, ``direction``,
        ``message_id`` or ``outbox_id``, ``phone``, ``modem``, ``text``, ``parts``; out: ``lane``,
        ``status``, ``sent_at``) and the id, the ticket and how it was routed or how it went."""
        from gateway.store import MessageRow

        row, ref = self.row, self.ticket.ref if self.ticket else None
        common = {"id": self.id, "at": self.at, "direction": self.direction}
        if isinstance(row, MessageRow):
            return {
                **common, "message_id": row.id, "phone": row.phone, "sender": row.sender, "modem": row.modem_id,
                "text": row.text, "parts": row.parts, "complete": bool(row.complete), "state": row.state,
                "sender_kind": row.sender_kind, "action": row.action, "routed": self.routed,
                "language": row.language, "ticket": ref, "ticket_id": row.ticket_id,
                "replies": [f"out-{r}" for r in self.replies], "error": row.error,
            }  # fmt: skip
        return {
            **common, "outbox_id": row.id, "phone": row.phone, "modem": row.modem_id or row.modem_hint,
            "text": row.text, "parts": row.parts, "lane": row.lane, "status": row.status, "sent_at": row.sent_at,
            "attempts": row.attempts, "last_error": row.last_error, "ticket": ref, "ticket_id": row.ticket_id,
            "answers": f"in-{row.message_id}" if row.message_id is not None else None,
        }  # fmt: skip


@dataclass(frozen=True)
class OutboxDetail:
    """``gateway outbox show``: an outbox row, when it was delivered, its parts as they went on air."""

    row: OutboxRow
    ticket: TicketRow | None
    delivered_at: str | None
    parts: list[SentPart]

    @property
    def sms(self) -> Sms:
        return Sms(self.row, self.ticket)

    def as_json(self) -> dict[str, Any]:
        from gateway.outbound.operations import outbox_json

        row = self.row
        return {
            **outbox_json(row), "ticket": self.ticket.ref if self.ticket else None,
            "answers": f"in-{row.message_id}" if row.message_id is not None else None, "modem_hint": row.modem_hint,
            "claimed_at": row.claimed_at, "next_attempt_at": row.next_attempt_at, "delivered_at": self.delivered_at,
            "campaign_id": row.campaign_id,
            "sent_parts": [
                {"part": p.part, "modem": p.modem_id, "reference": p.reference if p.reference >= 0 else None,
                 "sent_at": p.sent_at, "status": p.status, "report": p.report, "reported_at": p.reported_at}
                for p in self.parts
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class MessageDetail:
    """``gateway messages show in-ID``: a received message, how it was routed, what answered it."""

    sms: Sms
    replies: list[Sms]

    def as_json(self) -> dict[str, Any]:
        return {**self.sms.as_json(), "answered_by": [r.as_json() for r in self.replies]}


def read_phone(config: Config, text: str) -> str:
    """``text`` as the gateway stores phones (+E.164), however a person typed it (national,
    with spaces or dashes, in Persian or Arabic digits)."""
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        return to_e164(text, config.site.region, mobile=True)  # only a mobile phone texts us
    except InvalidNumber as exc:
        raise DeskError(
            f"cannot read {text!r} as a phone number ({exc}): write it as the customer's phone shows it, "
            f"e.g. 0912 123 4567 or +98 912 123 4567"
        ) from None


def read_id(text: str) -> tuple[Direction, int]:
    """``in-12`` (a message received) or ``out-45`` (an outbox row), in any digit script."""
    from gateway.config.reader import ascii_digits

    kind, _, number = ascii_digits(text.strip()).lower().partition("-")
    if kind in DIRECTIONS and number.isascii() and number.isdigit():
        return ("in" if kind == "in" else "out"), int(number)
    if text.strip().isdigit():
        raise DeskError(f"which message is {text.strip()}? Write in-{text.strip()} for the message received "
                        f"with that id, out-{text.strip()} for the outbox row")  # fmt: skip
    raise DeskError(f"{text!r} is not a message id: write in-ID (received) or out-ID (outbox), e.g. in-12")


async def list_messages(
    config: Config,
    *,
    phone: str | None = None,
    direction: Direction | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[Sms]:
    """The newest ``limit`` SMS in and out (of ``phone``, one ``direction``, ``since``), newest first."""
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await newest(store, phone, direction, since, limit)


async def follow(
    config: Config,
    emit: Callable[[Sms], None],
    *,
    phone: str | None = None,
    direction: Direction | None = None,
    since: datetime | None = None,
    limit: int = 50,
    interval: float = FOLLOW_INTERVAL,
    ready: Callable[[], None] | None = None,
) -> None:
    """Call ``emit`` with what :func:`list_messages` lists (oldest first), then with every SMS
    in and out written from then on (to or from ``phone``, in ``direction``), in time order,
    until cancelled: the database is read every ``interval`` seconds, nothing written. A
    message received is shown once it is routed (with the reply it caused), or after
    ``ROUTING_WAIT`` seconds as not routed yet. ``ready``: called once the listing is out."""
    from gateway.store.configured import open_store

    loop = asyncio.get_running_loop()
    async with await open_store(config) as store:
        seen_in, seen_out = await store.high_water()  # before the listing: nothing falls between
        shown = set()
        for sms in reversed(await newest(store, phone, direction, since, limit)):
            shown.add(sms.id)
            emit(sms)
        held: dict[int, float] = {}  # messages not routed yet: when first seen
        if ready is not None:
            ready()
        while True:
            await asyncio.sleep(interval)
            fresh, outbound = await store.messages_after(seen_in, seen_out)
            seen_in = max([seen_in, *(m.id for m in fresh)])
            seen_out = max([seen_out, *(o.id for o in outbound)])
            now = loop.time()
            held.update({m.id: now for m in fresh if m.state == "new"})
            inbound = [m for m in fresh if m.state != "new"]
            for m in await store.messages_by_id(sorted(held.keys() - {m.id for m in fresh})):
                if m.state != "new" or now - held[m.id] >= ROUTING_WAIT:
                    inbound.append(m)
            for m in inbound:
                held.pop(m.id, None)
            inbound = [m for m in inbound if direction != "out" and (phone is None or m.phone == phone)]
            outbound = [o for o in outbound if direction != "in" and (phone is None or o.phone == phone)]
            for sms in sorted(await describe(store, inbound, outbound), key=order):
                if sms.id not in shown:
                    emit(sms)


async def newest(
    store: MessageLog, phone: str | None, direction: Direction | None, since: datetime | None, limit: int
) -> list[Sms]:
    """:func:`list_messages` on an open store (``phone`` as the store keeps it: +E.164)."""
    from gateway.store import stamp

    after = stamp(since) if since else None
    inbound = await store.messages_in(phone=phone, since=after, limit=limit) if direction != "out" else []
    outbound = await store.messages_out(phone=phone, since=after, limit=limit) if direction != "in" else []
    return sorted(await describe(store, inbound, outbound), key=order, reverse=True)[:limit]


async def show_message(config: Config, message_id: str) -> MessageDetail | OutboxDetail:
    """``in-ID``: the message and what answered it; ``out-ID``: :func:`show_outbox`."""
    from gateway.store.configured import open_store

    read_id(message_id)  # a bad id is refused before the database is looked for
    async with await open_store(config) as store:
        return await message_detail(store, message_id, config.database_path)


async def message_detail(store: MessageLog, message_id: str, where: object) -> MessageDetail | OutboxDetail:
    """:func:`show_message` on an open store (``where`` names it in a not-found error)."""
    direction, number = read_id(message_id)
    if direction == "out":
        return await outbox_detail(store, number, where)
    message = await store.message(number)
    if message is None:
        raise NotFound(f"no message in-{number} in {where}")
    replies = await store.replies_to(message)
    [sms, *answers] = await describe(store, [message], replies)
    return MessageDetail(sms, sorted(answers, key=order))


async def show_outbox(config: Config, outbox_id: int) -> OutboxDetail:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await outbox_detail(store, outbox_id, config.database_path)


async def outbox_detail(store: MessageLog, outbox_id: int, where: object) -> OutboxDetail:
    """:func:`show_outbox` on an open store."""
    found = await store.outbox_row(outbox_id)
    if found is None:
        raise NotFound(f"no outbox row {outbox_id} in {where}")
    row, delivered_at = found
    tickets = await store.tickets_by_id([row.ticket_id] if row.ticket_id else [])
    return OutboxDetail(row, tickets.get(row.ticket_id or ""), delivered_at, await store.sent_parts(outbox_id))


async def describe(store: MessageLog, inbound: Sequence[MessageRow], outbound: Sequence[OutboxRow]) -> list[Sms]:
    """Each row with its ticket, each received message with the outbox rows that answered it
    (received first, then out, in the order given)."""
    ids = [m.ticket_id for m in inbound if m.ticket_id] + [o.ticket_id for o in outbound if o.ticket_id]
    tickets = await store.tickets_by_id(ids)
    answers = await store.reply_ids(inbound)
    return [Sms(m, tickets.get(m.ticket_id or ""), tuple(answers.get(m.id, ()))) for m in inbound] + [
        Sms(o, tickets.get(o.ticket_id or "")) for o in outbound
    ]


def order(sms: Sms) -> tuple[str, bool, int]:
    """Time order; at one instant a message before the reply it caused."""
    return sms.at, sms.direction == "out", sms.row.id
