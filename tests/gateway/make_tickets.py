"""Tickets made the way intake makes them (stored message, routed outcome), for sync and broadcast tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from gateway.conversation.refs import format_ref
from gateway.store import InboundItem, NewTicket, Outcome, Store, TicketRow


async def open_tickets(
    store: Store,
    n: int,
    *,
    first_account: int = 40000,
    language: str = "fa",
    category: str = "outage",
    code: str = "1",
    phones: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[TicketRow]:
    """``n`` tickets, from ``phones`` (default: ``n`` different phones), in ticket order."""
    start = sum((await store.counts())["inbound_pdus"].values())
    senders = list(phones) if phones is not None else [_phone(start + i) for i in range(n)]
    items = [
        InboundItem("SM", start + i, f"PDU{start + i}", "sms", sender=senders[i], text=f"قطع {first_account + i}")
        for i in range(n)
    ]
    await store.add_inbound("m1", items, now=now)
    made: list[TicketRow] = []
    for message in await store.waiting_messages(limit=n):
        outcome = Outcome(
            "person",
            message.sender,
            "ticket",
            language,
            ticket=NewTicket(category, code, message.text.split()[1], partial(format_ref, store.site)),
        )
        ticket, _ = await store.complete_message(message, outcome, now=now)
        assert ticket is not None
        made.append(ticket)
    return made


async def opt_out(store: Store, phone: str) -> None:
    """What intake does when ``phone`` texts STOP."""
    start = sum((await store.counts())["inbound_pdus"].values())
    await store.add_inbound("m1", [InboundItem("SM", start, f"STOP{start}", "sms", sender=phone, text="STOP")])
    [message] = await store.waiting_messages()
    await store.complete_message(message, Outcome("person", phone, "stop", "en", opt_out=True))


def _phone(i: int) -> str:
    return f"+98912{3000000 + i:07d}"
