"""Routing: committed messages -> tickets, replies and what the conversation remembers.

Each message is routed at most once: its ticket, its reply and its new state are
committed in one transaction (``Store.complete_message``). A message that cannot be
routed is marked failed; a database failure pauses routing, and the message stays
committed for the next round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.phones import classify, number_language
from gateway.conversation.replies import render_reply
from gateway.conversation.router import Decision, route
from gateway.conversation.turns import Context, Session, TicketBrief, Turn, decide
from gateway.events import MessageRouted, Observer
from gateway.runtime import SYSTEM, Clock
from gateway.store import STORE_ERRORS, MessageRow, NewTicket, Outcome, Store, TicketRow, utcnow
from gateway.store.rows import CustomerRow

RECENT_TICKETS = 50  # a sender's tickets looked at for repeats and STATUS (a building manager has many)

log = structlog.get_logger("gateway.inbound.routing")


class Routing:
    def __init__(
        self,
        store: Store,
        catalogue: Catalogue,
        config: Config,
        *,
        on_reply: Callable[[], None],
        observer: Observer | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.config = config
        self._on_reply = on_reply
        self._observer = observer
        self.clock = clock
        self._lock = asyncio.Lock()

    async def route_waiting(self) -> None:
        """Route every committed message that has not been routed yet, oldest first.
        If the database fails, routing pauses; the messages stay committed and the next
        batch or the housekeeping round routes them."""
        async with self._lock:
            try:
                while True:
                    waiting = await self.store.waiting_messages()
                    if not waiting:
                        return
                    for message in waiting:
                        await self._route_one(message)
            except STORE_ERRORS as exc:
                log.error("routing_paused", error=str(exc))

    async def _route_one(self, message: MessageRow) -> None:
        config = self.config
        try:
            sender = classify(
                message.sender,
                alphanumeric=bool(message.alphanumeric),
                region=config.site.region,
                own_numbers=config.own_numbers,
                short_code_max_digits=config.receive.short_code_max_digits,
            )
            customer = await self.store.customer(sender.phone) if sender.phone else None
            decision = route(
                message.text,
                catalogue=self.catalogue,
                sender_kind=sender.kind,
                default_language=config.site.language,
                known_language=customer.language if customer else None,
                number_language=number_language(sender.phone),
                account_min_digits=config.conversation.account_min_digits,
            )
            ctx = await self._context(message, sender.phone, customer, decision)
            turn = decide(decision, ctx, self.catalogue, config.conversation)
            outcome = self._outcome(sender.kind, sender.phone, turn, sender.replyable)
            ticket_row, outbox_id = await self.store.complete_message(message, outcome)
        except STORE_ERRORS:
            raise  # the database, not the message: try again later
        except Exception as exc:
            log.exception("sms_route_failed", message_id=message.id)
            await self.store.fail_message(message.id, repr(exc))
            return
        log.info(
            "sms_routed",
            message_id=message.id,
            modem_id=message.modem_id,
            sender=message.sender,
            text=message.text,
            action=turn.action,
            reason=turn.reason,
            language=turn.language,
            ticket_id=ticket_row.id if ticket_row else (turn.ticket.id if turn.ticket else None),
            reply_queued=outbox_id is not None,
        )
        if ticket_row:
            log.info("ticket_opened", ticket_id=ticket_row.id, ref=ticket_row.ref, category=ticket_row.category)
        if outbox_id is not None:
            self._on_reply()
        if self._observer is not None:
            self._observer(MessageRouted(message, decision, ticket_row, outbox_id, turn))

    async def _context(
        self, message: MessageRow, phone: str | None, customer: CustomerRow | None, decision: Decision
    ) -> Context:
        """What the conversation needs to know about this sender (nothing for machines).
        Windows count from when the message arrived, not from when a backlog let us route it."""
        now = min(utcnow(), _arrived(message))
        tz = ZoneInfo(self.config.site.timezone)
        if phone is None or decision.action == "ignore":
            return Context(now=now, phone=phone, tz=tz)
        session = None
        if customer is not None and customer.session_step in ("choose", "account") and customer.session_at:
            started = datetime.fromisoformat(customer.session_at)
            session = Session(customer.session_step, customer.session_code, started)  # type: ignore[arg-type]
        recent = tuple(_brief(t) for t in await self.store.recent_tickets(phone, limit=RECENT_TICKETS))
        tickets_hour, replies_hour = await self.store.activity_since(phone, now - timedelta(hours=1))
        named = None
        if decision.action == "status" and decision.refs:
            found = await self.store.ticket(*decision.refs, phone=phone)  # only the sender's own
            named = _brief(found) if found else None
        return Context(now, phone, session, recent, tickets_hour, replies_hour, named, tz)

    def _outcome(self, kind: str, phone: str | None, turn: Turn, replyable: bool) -> Outcome:
        ticket = NewTicket(turn.category or "", turn.code or "", turn.account) if turn.opens_ticket else None
        reply = None
        if replyable and turn.reply is not None:
            name, language, values = turn.reply, turn.language, dict(turn.values)

            def reply(ref: str | None) -> str:
                if ref is not None:
                    values["ref"] = ref
                return render_reply(self.catalogue, name, language, values)

        return Outcome(
            sender_kind=kind,
            phone=phone,
            action=turn.action,
            language=turn.language,
            ticket=ticket,
            merge_into=turn.ticket.id if turn.action == "merge" and turn.ticket else None,
            opt_out=turn.opt_out,
            session=(turn.session.step, turn.session.code) if turn.session else None,
            end_session=turn.end_session,
            reply=reply,
        )


def _arrived(message: MessageRow) -> datetime:
    try:
        at = datetime.fromisoformat(message.received_at)
    except ValueError:
        return utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _brief(t: TicketRow) -> TicketBrief:
    return TicketBrief(
        t.id, t.ref, t.phone, t.code, t.category, t.account, t.status, datetime.fromisoformat(t.received_at)
    )
