"""A phone's whole thread (``gateway thread PHONE``): every SMS it sent and was sent, in time
order -- those that opened or repeated a ticket, and those that opened none (menu turns,
unknown texts, texts past the flood limits, STOP and START) with how each was routed -- its
tickets, and whether it opted out of broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.desk.messages import Sms, describe, order, read_phone

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import MessageLog, TicketRow

THREAD_LIMIT = 1000  # the newest SMS each way shown in one thread


@dataclass(frozen=True)
class Thread:
    phone: str
    opted_out: bool
    tickets: list[TicketRow]  # oldest first
    messages: list[Sms]  # oldest first
    truncated: bool  # older SMS than these exist

    def as_json(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "opted_out": self.opted_out,
            "tickets": [
                {"ref": t.ref, "id": t.id, "status": t.status, "category": t.category, "code": t.code,
                 "account": t.account, "received_at": t.received_at, "repeat_count": t.repeat_count,
                 "assigned_to": t.assigned_to}
                for t in self.tickets
            ],
            "messages": [m.as_json() for m in self.messages],
            "truncated": self.truncated,
        }  # fmt: skip


async def thread(config: Config, phone: str, *, limit: int = THREAD_LIMIT) -> Thread:
    """Everything ``phone`` (as a person types it) sent and was sent, oldest first; the newest
    ``limit`` each way."""
    from gateway.store.configured import open_store

    number = read_phone(config, phone)
    async with await open_store(config) as store:
        return await thread_of(store, number, limit=limit)


async def thread_of(store: MessageLog, number: str, *, limit: int = THREAD_LIMIT) -> Thread:
    """:func:`thread` on an open store, for ``number`` as the store keeps it (+E.164)."""
    inbound = await store.messages_in(phone=number, limit=limit)
    outbound = await store.messages_out(phone=number, limit=limit)
    items = await describe(store, inbound, outbound)
    tickets = await store.phone_tickets(number)
    opted_out = await store.opted_out(number)
    truncated = len(inbound) == limit or len(outbound) == limit
    return Thread(number, opted_out, tickets, sorted(items, key=order), truncated)
