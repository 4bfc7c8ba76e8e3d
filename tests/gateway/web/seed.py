"""Tickets made as the daemon makes them (an SMS stored, then routed to a ticket), straight
through the store: for API tests that need many tickets or set times, not a modem."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from gateway.conversation.refs import format_ref
from gateway.store import InboundItem, NewTicket, Outcome, Store, TicketRow


async def make_ticket(
    store: Store, phone: str, text: str, *, category: str = "outage", account: str | None = "48213",
    language: str = "fa", at: datetime | None = None,
) -> TicketRow:  # fmt: skip
    start = sum((await store.counts())["inbound_pdus"].values())
    item = InboundItem("SM", start, f"PDU{start}", "sms", sender=phone, text=text)
    await store.add_inbound("m1", [item], now=at)
    [message] = await store.waiting_messages(limit=1)
    made = NewTicket(category, "1", account, partial(format_ref, store.site))
    ticket, _ = await store.complete_message(message, Outcome("person", phone, "ticket", language, ticket=made), now=at)
    assert ticket is not None
    return ticket
