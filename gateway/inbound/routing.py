"""Routing: committed messages -> tickets, replies and what the conversation remembers.

Messages are routed in rounds, oldest first. A round is the longest run of waiting
messages from different senders (a sender's next message waits for the next round, so
that it sees what the one before did): their senders' history is read in one go, each
message is decided on its own (pure, :mod:`gateway.conversation`), and the round is
committed in one transaction (``Store.complete_messages``). Since a message's context is
only its own sender's rows, a round routes exactly as one message at a time would.

Each message is routed at most once. A message that cannot be routed is marked failed
(the rest of its round still goes); a database failure pauses routing, and the messages
stay committed for the next round.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.outages import report_areas, suggest_areas
from gateway.conversation.phones import Sender, classify, number_language
from gateway.conversation.refs import format_ref
from gateway.conversation.replies import render_reply
from gateway.conversation.router import Decision, route
from gateway.conversation.turns import OUTAGE_CATEGORY, Context, OutageBrief, Session, TicketBrief, Turn, decide
from gateway.events import MessageRouted, Observer
from gateway.runtime import SYSTEM, Clock
from gateway.store import STORE_ERRORS, MessageRow, NewTicket, Outcome, TicketRow
from gateway.store.outages import OutageRow
from gateway.store.protocols import RoutingStore
from gateway.store.rows import CustomerRow

RECENT_TICKETS = 50  # a sender's tickets looked at for repeats and STATUS (a building manager has many)
ROUND = 100  # messages decided and committed together at most (one write transaction)
FLOOD_WINDOW = timedelta(hours=1)  # what max_tickets_per_hour / max_replies_per_hour count

log = structlog.get_logger("gateway.inbound.routing")


@dataclass(frozen=True)
class _History:
    """What the store holds about the senders of one round."""

    customers: dict[str, CustomerRow]
    recent: dict[str, list[TicketRow]]
    activity: dict[str, tuple[int, int]]  # phone -> (tickets, replies) in the flood window
    active: list[OutageRow]  # the active outages, newest first
    checked: dict[str, int]  # phone -> the outage whose restoration check it was sent (window open)


@dataclass(frozen=True)
class _Routed:
    message: MessageRow
    decision: Decision
    turn: Turn
    outcome: Outcome


class Routing:
    def __init__(
        self,
        store: RoutingStore,
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
        self._ref_for = functools.partial(format_ref, config.site.id)
        self._suggested: dict[str, datetime] = {}  # area -> when the early warning last named it

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
                    while waiting:
                        waiting = waiting[await self._round(waiting) :]
            except STORE_ERRORS as exc:
                log.error("routing_paused", error=str(exc))

    async def _round(self, waiting: Sequence[MessageRow]) -> int:
        """Route the first round of ``waiting``; returns how many messages it took."""
        senders: list[tuple[MessageRow, Sender, datetime]] = []
        phones: set[str] = set()
        taken = 0
        for message in waiting[:ROUND]:
            try:
                sender = self._sender(message)
            except Exception as exc:  # noqa: BLE001 - this message, not the others: marked failed
                await self._failed(message, exc)
                taken += 1
                continue
            if sender.phone in phones:
                break  # the same sender again: next round, once this one is committed
            if sender.phone:
                phones.add(sender.phone)
            senders.append((message, sender, self._now(message)))
            taken += 1
        history = await self._history(senders)
        routed: list[_Routed] = []
        for message, sender, now in senders:
            try:
                routed.append(await self._decide(message, sender, now, history))
            except STORE_ERRORS:
                raise  # the database, not the message: try again later
            except Exception as exc:  # noqa: BLE001 - this message, not the others: marked failed
                await self._failed(message, exc)
        await self._commit(routed)
        if any(r.turn.action == "ticket" and r.turn.category == OUTAGE_CATEGORY and not r.turn.outage for r in routed):
            await self._early_warning(self.clock.wall())
        return taken

    async def _early_warning(self, now: datetime) -> None:
        """Log ``outage_suggested`` when an area without a declared outage reaches ``[outages]
        suggest_reports`` distinct phones within ``suggest_window`` (once a window per area)."""
        settings = self.config.outages
        window = timedelta(seconds=settings.suggest_window)
        reports = await self.store.outage_tickets_since(OUTAGE_CATEGORY, now - window)
        loose = [(p, a) for p, a, linked in reports if linked is None]
        by_phone, by_account = await self.store.areas_by_phone_and_account(
            {p for p, _ in loose}, {a for _, a in loose if a}
        )
        declared = {a for row in await self.store.outages("active") for a in row.area_list}
        found = suggest_areas(reports, by_phone, by_account, self.config.areas, declared, settings.suggest_reports)
        await self.store.note_suggestions(found, settings.suggest_window, now)  # gateway stats, the metrics
        for area, phones in found.items():
            last = self._suggested.get(area)
            if last is None or now - last >= window:
                self._suggested[area] = now
                log.warning("outage_suggested", area=area, reports=phones, window_s=settings.suggest_window)

    def _sender(self, message: MessageRow) -> Sender:
        config = self.config
        return classify(
            message.sender,
            alphanumeric=bool(message.alphanumeric),
            region=config.site.region,
            own_numbers=config.own_numbers,
            short_code_max_digits=config.receive.short_code_max_digits,
        )

    async def _history(self, senders: Sequence[tuple[MessageRow, Sender, datetime]]) -> _History:
        """The senders' customer rows, recent tickets and flood counts, the active outages and who
        was sent a restoration check: five reads for the round.
        Flood windows count back from when each message arrived (see :meth:`_now`)."""
        since = {s.phone: now - FLOOD_WINDOW for _, s, now in senders if s.phone}
        latest = max((now for _, _, now in senders), default=self.clock.wall())
        return _History(
            await self.store.customers(since.keys()),
            await self.store.recent_tickets(since.keys(), limit=RECENT_TICKETS),
            await self.store.activity_since(since),
            await self.store.outages("active"),
            await self.store.checks_sent(since.keys(), latest),  # two more reads: the outages
        )

    async def _decide(self, message: MessageRow, sender: Sender, now: datetime, history: _History) -> _Routed:
        config = self.config
        customer = history.customers.get(sender.phone) if sender.phone else None
        decision = route(
            message.text,
            catalogue=self.catalogue,
            sender_kind=sender.kind,
            default_language=config.site.language,
            known_language=customer.language if customer else None,
            number_language=number_language(sender.phone),
            account_min_digits=config.conversation.account_min_digits,
        )
        ctx = await self._context(now, sender.phone, customer, decision, history)
        turn = decide(decision, ctx, self.catalogue, config.conversation)
        return _Routed(message, decision, turn, self._outcome(sender.kind, sender.phone, turn, sender.replyable))

    async def _commit(self, routed: Sequence[_Routed]) -> None:
        """One transaction for the round. If a message breaks it (its reply does not render,
        say; not the database), each message again on its own: only that one is marked failed."""
        try:
            results = await self.store.complete_messages([(r.message, r.outcome) for r in routed], self.clock.wall())
        except STORE_ERRORS:
            raise  # the database, not the messages: try again later
        except Exception as exc:  # noqa: BLE001 - marked failed below, alone
            if len(routed) == 1:
                await self._failed(routed[0].message, exc)
            else:
                for one in routed:
                    await self._commit([one])
            return
        for one, (ticket_row, outbox_id) in zip(routed, results, strict=True):
            self._announce(one, ticket_row, outbox_id)

    def _announce(self, routed: _Routed, ticket_row: TicketRow | None, outbox_id: int | None) -> None:
        message, turn = routed.message, routed.turn
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
            self._observer(MessageRouted(message, routed.decision, ticket_row, outbox_id, turn))

    async def _failed(self, message: MessageRow, exc: Exception) -> None:
        log.error("sms_route_failed", message_id=message.id, exc_info=exc)
        await self.store.fail_message(message.id, repr(exc))

    def _now(self, message: MessageRow) -> datetime:
        """Windows count from when the message arrived, not from when a backlog let us route it."""
        return min(self.clock.wall(), _arrived(message, self.clock))

    async def _context(
        self,
        now: datetime,
        phone: str | None,
        customer: CustomerRow | None,
        decision: Decision,
        history: _History,
    ) -> Context:
        """What the conversation needs to know about this sender (nothing for machines)."""
        tz = ZoneInfo(self.config.site.timezone)
        if phone is None or decision.action == "ignore":
            return Context(now=now, phone=phone, tz=tz)
        session = None
        if customer is not None and customer.session_step in ("choose", "account") and customer.session_at:
            started = datetime.fromisoformat(customer.session_at)
            session = Session(customer.session_step, customer.session_code, started)  # type: ignore[arg-type]
        recent = tuple(_brief(t) for t in history.recent.get(phone, ()))
        tickets_hour, replies_hour = history.activity.get(phone, (0, 0))
        named = None
        if decision.action == "status" and decision.refs:
            found = await self.store.ticket(*decision.refs, phone=phone)  # only the sender's own
            named = _brief(found) if found else None
        outage, ticket_outages = None, {}
        if decision.category == OUTAGE_CATEGORY and decision.action == "ticket":
            outage = await self._known_outage(phone, decision.account, history)
        elif decision.action == "status" and (named or recent):
            asked = named or recent[0]
            found_outages = await self.store.ticket_outages([asked.id])
            ticket_outages = {k: _outage_brief(o) for k, o in found_outages.items()}
        return Context(now, phone, session, recent, tickets_hour, replies_hour, named, tz, outage, ticket_outages)

    async def _known_outage(self, phone: str, account: str | None, history: _History) -> OutageBrief | None:
        """The outage a report from ``phone`` (about ``account``) belongs to: one this phone was
        asked about after its restoration (a still-out report), else an active outage of the
        report's area (its contact's, else by ``[areas]`` account prefix)."""
        checked = history.checked.get(phone)
        if checked is not None:
            return _outage_brief(await self.store.outage(checked), kind="still_out")
        active = history.active
        if not active:
            return None
        areas = set(report_areas(await self.store.contact_areas(phone, account), account, self.config.areas))
        for row in active:  # newest first
            if areas & set(row.area_list):
                return _outage_brief(row)
        return None

    def _outcome(self, kind: str, phone: str | None, turn: Turn, replyable: bool) -> Outcome:
        ticket = None
        if turn.opens_ticket:
            ticket = NewTicket(turn.category or "", turn.code or "", turn.account, self._ref_for, turn.outage)
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


def _arrived(message: MessageRow, clock: Clock) -> datetime:
    try:
        at = datetime.fromisoformat(message.received_at)
    except ValueError:
        return clock.wall()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _outage_brief(row: OutageRow, kind: str = "linked") -> OutageBrief:
    eta = datetime.fromisoformat(row.eta_at) if row.eta_at else None
    return OutageBrief(row.id, ", ".join(row.area_list), row.status, datetime.fromisoformat(row.started_at), eta, kind)


def _brief(t: TicketRow) -> TicketBrief:
    return TicketBrief(
        t.id, t.ref, t.phone, t.code, t.category, t.account, t.status, datetime.fromisoformat(t.received_at)
    )
