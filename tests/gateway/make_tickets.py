"""Tickets made the way intake makes them (stored message, routed outcome), for sync tests."""

from __future__ import annotations

from gateway.store import InboundItem, NewTicket, Outcome, Store, TicketRow


async def open_tickets(store: Store, n: int, *, first_account: int = 40000, language: str = "fa") -> list[TicketRow]:
    """``n`` outage tickets from ``n`` different phones, in ticket order."""
    start = (await store.counts())["inbound_pdus"]
    offset = sum(start.values())
    items = [
        InboundItem(
            "SM", offset + i, f"PDU{offset + i}", "sms", sender=_phone(offset + i), text=f"قطع {first_account + i}"
        )
        for i in range(n)
    ]
    await store.add_inbound("m1", items)
    made: list[TicketRow] = []
    for message in await store.waiting_messages(limit=n):
        outcome = Outcome(
            "person", message.sender, "ticket", language, ticket=NewTicket("outage", "1", message.text.split()[1])
        )
        ticket, _ = await store.complete_message(message, outcome)
        assert ticket is not None
        made.append(ticket)
    return made


def _phone(i: int) -> str:
    return f"+98912{3000000 + i:07d}"
