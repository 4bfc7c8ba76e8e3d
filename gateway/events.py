"""What the daemon tells observers (the demo, tests, later metrics): plain immutable records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.conversation.router import Decision
from gateway.conversation.turns import Turn
from gateway.store import MessageRow, OutboxRow, TicketRow


@dataclass(frozen=True)
class MessageRouted:
    """A customer's SMS was stored and routed (a ticket, a help reply, or silence)."""

    message: MessageRow
    decision: Decision
    ticket: TicketRow | None
    outbox_id: int | None
    turn: Turn | None = None  # what the conversation made of it (repeat, menu step, status ...)


@dataclass(frozen=True)
class OutboxDone:
    """An outbox row reached ``sent``, ``failed`` or ``unknown`` (or will be retried)."""

    row: OutboxRow
    status: str  # sent | failed | unknown | retry
    modem_id: str | None
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReported:
    """A status report reached an outbox row (``message_status`` set once the message is settled)."""

    outbox_id: int
    part_status: str  # delivered | pending | failed
    message_status: str | None


GatewayEvent = MessageRouted | OutboxDone | DeliveryReported
Observer = Callable[[GatewayEvent], None]
