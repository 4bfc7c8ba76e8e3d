"""Replies by hand (``gateway tickets reply``): an agent's SMS to a ticket's customer.

The text is the agent's own, or a pre-approved notice of ``[broadcast] templates`` in the
ticket's language, with the ticket's reference (and account) filled in the customer's
digits. It goes in the reply lane, preferably from the SIM the customer texted about the
ticket while that SIM is healthy (else from any healthy SIM), and is kept in the ticket's
history (``reply``, by whom) with its outbox row, in one transaction. A reply longer than
``[conversation] reply_max_parts`` SMS parts is refused unless forced; one that cannot be an
SMS at all is refused before anything is written. The rules are the pure functions here;
:func:`reply_on` is the one operation (the store behind :class:`gateway.store.protocols_replies.ReplyDesk`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.desk.rules import check_name
from gateway.exceptions import DeskError, Wording

if TYPE_CHECKING:
    from gateway.broadcast.templates import Notice
    from gateway.config import Config
    from gateway.store import HistoryRow, ReplyDesk, TicketRow
    from sim_bank.pdu import Segments

DOWN = ("down", "quarantined", "stopped")  # SIM states (as the daemon publishes them) a reply does not wait for
FILLED = ("ref", "account")  # a notice's variables the desk fills from the ticket, never the agent
_CONTROL_OK = "\n"  # the one control character a reply may hold (a line break)


@dataclass(frozen=True)
class Reply:
    """What a reply did: the ticket, its history entry, and the SMS queued."""

    ticket: TicketRow
    entry: HistoryRow
    text: str
    parts: int
    encoding: str
    sim: str | None  # the SIM asked to send it; None: any healthy SIM
    customer_sim: str | None  # the SIM the customer texted about the ticket
    customer_sim_state: str | None  # its state as the daemon last published it (None: never)
    template: str | None = None

    @property
    def language(self) -> str:
        return self.ticket.language

    def as_json(self) -> dict[str, Any]:
        """``tickets reply --json``: the history entry, then the SMS."""
        return {
            "ref": self.ticket.ref,
            **self.entry.as_json(),
            "phone": self.ticket.phone,
            "text": self.text,
            "language": self.language,
            "parts": self.parts,
            "encoding": self.encoding,
            "template": self.template,
            "sim": self.sim,
            "customer_sim": self.customer_sim,
            "customer_sim_state": self.customer_sim_state,
        }


def check_text(text: str) -> str:
    """The agent's text as it is sent: surrounding blanks trimmed, not empty, no control
    characters but line breaks (they would reach the customer's phone as garbage)."""
    clean = text.strip()
    if not clean:
        raise DeskError("the reply is empty: write what the customer should read")
    bad = sorted({c for c in clean if (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) and c not in _CONTROL_OK})
    if bad:
        raise DeskError(f"the reply holds a control character ({ascii(bad[0])[1:-1]}): an SMS is plain text")
    return clean


def measure(text: str, max_parts: int, *, force: bool = False) -> Segments:
    """``text``'s SMS parts, counted as the network bills them. Refuses a text that cannot be
    an SMS, and one of more than ``max_parts`` parts unless ``force``."""
    from sim_bank import EncodeError
    from sim_bank.pdu import PART_LIMIT, SINGLE_LIMIT, segment

    try:
        seg = segment(text)
    except EncodeError as exc:
        raise DeskError(f"the reply cannot be sent as an SMS: {exc}") from None
    if seg.count > max_parts and not force:
        room = SINGLE_LIMIT[seg.encoding] if max_parts == 1 else PART_LIMIT[seg.encoding] * max_parts
        alphabet = "GSM characters" if seg.encoding == "gsm7" else "characters in Persian/Arabic (UCS-2)"
        raise DeskError(Wording(
            "the reply is {parts} SMS parts: more than [conversation] reply_max_parts = {limit}; shorten it "
            "(at most about {room} {alphabet}) or {force}",
            {"parts": str(seg.count), "limit": str(max_parts), "room": f"{room:,}", "alphabet": alphabet,
             "force": "force it if the customer should get every part"},
        ))  # fmt: skip
    return seg


def fill_notice(notice: Notice, ticket: TicketRow, values: Mapping[str, str]) -> str:
    """``notice`` in the ticket's language: the agent's ``values``, and the ticket's own
    reference and account where the notice names them (in the customer's digits)."""
    given = sorted({k.split(".")[0] for k in values} & set(FILLED))
    if given:
        raise DeskError(Wording(
            "{name} is the ticket's own and is filled in for you: leave out {var} {name}=...",
            {"name": given[0], "var": "the value"},
        ))  # fmt: skip
    if ticket.language not in notice.texts:  # every notice has fa, ar and en; a ticket in another language
        raise DeskError(f"notice {notice.name!r} has no text in {ticket.language!r}, the ticket's language")
    own = {"ref": ticket.ref, "account": ticket.account or ""}
    return notice.render(ticket.language, {**values, **{k: v for k, v in own.items() if k in notice.variables}})


def reply_sim(customer_sim: str | None, state: str | None) -> str | None:
    """The SIM the reply prefers: the customer's, unless the daemon last said it is down,
    quarantined or stopped -- then None, any healthy SIM. The dispatcher has the last word, by
    the SIMs' state when it sends: a preferred SIM that is not ready then is passed over at
    once, and one that is busy is waited for at most ``[send] reply_affinity`` seconds."""
    if customer_sim is None or state in DOWN:
        return None
    return customer_sim


async def send_reply(
    config: Config,
    ref: str,
    text: str | None = None,
    *,
    template: str | None = None,
    values: Mapping[str, str] | None = None,
    actor: str,
    force: bool = False,
    now: datetime | None = None,
) -> Reply:
    """Reply by hand to the customer of ticket ``ref``: ``text``, or the notice ``template``
    filled with ``values`` (exactly one of the two)."""
    from gateway.desk.casework import find
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        ticket = await find(store, ref, config.database_path)
        return await compose_reply(
            store, config, ticket, text, template=template, values=values, actor=actor, force=force, now=now
        )


async def compose_reply(
    store: ReplyDesk,
    config: Config,
    ticket: TicketRow,
    text: str | None = None,
    *,
    template: str | None = None,
    values: Mapping[str, str] | None = None,
    actor: str,
    force: bool = False,
    now: datetime | None = None,
) -> Reply:
    """:func:`send_reply` on an open store, for a ticket already found."""
    actor = check_name(actor)
    if (text is None) == (template is None):
        raise DeskError("write the reply's text or name a template: one of the two")
    if text is not None:
        text = check_text(text)
    if template is not None:
        text = check_text(fill_notice(_notice(config, template), ticket, values or {}))
    assert text is not None
    return await reply_on(store, config, ticket, text, actor=actor, template=template, force=force, now=now)


async def reply_on(
    store: ReplyDesk,
    config: Config,
    ticket: TicketRow,
    text: str,
    *,
    actor: str,
    template: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> Reply:
    """Queue ``text`` (checked) to ``ticket``'s customer with its history entry."""
    from gateway.outbound.operations import check_length

    seg = measure(text, config.conversation.reply_max_parts, force=force)
    check_length(config, text, "the reply", lane="reply")  # even forced: some SIM must be able to send it
    customer, state = await store.customer_sim(ticket)
    sim = reply_sim(customer, state)
    entry = await store.add_ticket_reply(ticket.id, text, sim=sim, actor=actor, template=template, now=now)
    return Reply(ticket, entry, text, seg.count, seg.encoding, sim, customer, state, template)


def _notice(config: Config, name: str) -> Notice:
    from gateway.broadcast.templates import notice, notices

    return notice(notices(config), name)
