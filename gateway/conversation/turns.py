"""A customer's conversation: what a message means given what they did before (pure).

The router says what a message says on its own; this module weighs it against the
sender's recent past, read from the database by the intake into a :class:`Context`:

* **Menu.** A message the gateway does not understand gets the numbered menu and
  opens a session. Within ``session_window``, a single digit chooses (a code that
  wants an account asks for it), and then a bare number is that account. A bare
  number outside a session is not a code: it gets the menu.
* **STATUS.** Only the phone that opened a ticket hears about it; anyone else gets
  "not found" -- the same answer as for a ticket that does not exist. STATUS with no
  reference tells the sender about their latest ticket.
* **Repeats.** The same code and account from the same phone within
  ``repeat_window`` is merged into the open ticket ("already registered as REF").
* **Floods.** Beyond ``max_tickets_per_hour`` a phone opens no more tickets and gets
  no answer; beyond ``max_replies_per_hour`` it gets no answer at all. Everything is
  still stored; STOP still takes effect (quietly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from gateway.config import ConversationConfig
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.outages import format_eta
from gateway.conversation.replies import format_when
from gateway.conversation.router import Action, Decision

Step = Literal["choose", "account"]


@dataclass(frozen=True)
class Session:
    step: Step
    code: str | None
    started_at: datetime


@dataclass(frozen=True)
class TicketBrief:
    id: str
    ref: str
    phone: str
    code: str
    category: str
    account: str | None
    status: str
    received_at: datetime


@dataclass(frozen=True)
class OutageBrief:
    """A known outage as the conversation speaks of it (:mod:`gateway.outages`)."""

    id: int
    areas: str  # as the reply names them: "North, East"
    status: str  # active | restored | cancelled
    started_at: datetime
    eta_at: datetime | None
    kind: str = "linked"  # what a new report becomes: linked (while active) | still_out (after a check)


@dataclass(frozen=True)
class Context:
    """What the intake read about the sender before deciding."""

    now: datetime
    phone: str | None
    session: Session | None = None
    recent: tuple[TicketBrief, ...] = ()  # the phone's tickets, newest first
    tickets_last_hour: int = 0
    replies_last_hour: int = 0
    named: TicketBrief | None = None  # the ticket a STATUS names (whoever opened it)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the site's, for "opened at"
    outage: OutageBrief | None = None  # the known outage a new outage report would be linked to
    ticket_outages: Mapping[str, OutageBrief] = field(default_factory=dict)  # ticket id -> its outage


@dataclass(frozen=True)
class Turn:
    """What to do with one message."""

    action: Literal["ticket", "merge", "status", "stop", "start", "menu", "ask_account", "silent", "ignore"]
    reason: str
    language: str
    code: str | None = None
    category: str | None = None
    account: str | None = None
    ticket: TicketBrief | None = None  # merged into, or reported on
    reply: str | None = None  # reply template
    values: dict[str, str] = field(default_factory=dict)  # for the template, besides a new ticket's ref
    session: Session | None = None  # a menu step to remember
    end_session: bool = False
    opt_out: bool | None = None  # True: STOP, False: START
    outage: tuple[int, str] | None = None  # a new ticket linked to a known outage: (outage id, kind)

    @property
    def opens_ticket(self) -> bool:
        return self.action == "ticket"


MERGEABLE = ("open", "in_progress")  # a repeat after the CRM resolved or closed a ticket is a new report
OUTAGE_CATEGORY = "outage"  # the ticket category of outage reports (config/keywords.toml)


def decide(decision: Decision, ctx: Context, catalogue: Catalogue, settings: ConversationConfig) -> Turn:
    lang = decision.language
    if decision.action == "ignore":
        return Turn("ignore", decision.reason, lang)
    decision = _continue_menu(decision, ctx, catalogue, settings)
    turn = _turn(decision, ctx, catalogue, settings)
    if turn.reply is not None and ctx.replies_last_hour >= settings.max_replies_per_hour:
        # unanswered, so no menu step either: the customer never saw the question
        return replace(
            turn,
            reply=None,
            session=None,
            reason=f"{turn.reason}; not answered: {ctx.replies_last_hour} replies this hour",
        )
    return turn


def _live_session(ctx: Context, settings: ConversationConfig) -> Session | None:
    s = ctx.session
    if s is None or ctx.now - s.started_at > timedelta(seconds=settings.session_window):
        return None
    return s


def _continue_menu(decision: Decision, ctx: Context, catalogue: Catalogue, settings: ConversationConfig) -> Decision:
    """Inside a menu, a number is a choice or, when one was asked for, an account number
    ("48213", "48-213", "شماره ۴۸۲۱۳"); a number too short for an account is a choice."""
    session = _live_session(ctx, settings)
    if session is None:
        return decision
    if session.step == "account" and session.code is not None:
        code = catalogue.code(session.code)
        account = _account_answer(decision, settings.account_min_digits)
        if code is not None and account is not None:
            return replace(
                decision,
                action="ticket",
                reason=f"menu: account for code {code.code}",
                code=code.code,
                category=code.category,
                account=account,
                reply=code.reply,
            )
    if decision.number is None:
        return decision
    code = catalogue.code(decision.number)
    if code is not None and code.action in ("ticket", "status"):
        chosen: Action = "status" if code.action == "status" else "ticket"
        if code.action == "ticket" and code.argument == "account":
            chosen = "ask_account"
        return replace(
            decision,
            action=chosen,
            reason=f"menu: chose {code.code}",
            code=code.code,
            category=code.category,
            account=None,
            refs=(),
            reply=code.reply,
        )
    return decision


def _account_answer(decision: Decision, min_digits: int) -> str | None:
    """The account number in an answer to "send your account number", if it is one."""
    if decision.number is not None and len(decision.number) >= min_digits:
        return decision.number
    if decision.action == "help":  # words we do not know around one long number: "شماره ۴۸۲۱۳"
        long_ = [n for n in decision.numbers if len(n) >= min_digits]
        if len(long_) == 1:
            return long_[0]
    return None


def _turn(decision: Decision, ctx: Context, catalogue: Catalogue, settings: ConversationConfig) -> Turn:
    lang = decision.language
    action: str = decision.action
    if action == "help":
        session = Session("choose", None, ctx.now)
        return Turn("menu", decision.reason, lang, reply="help", session=session)
    if action == "ask_account":
        code = catalogue.code(decision.code or "")
        label = _label(catalogue, decision.code, lang)
        session = Session("account", code.code if code else None, ctx.now)
        return Turn(
            "ask_account", decision.reason, lang, reply="ask_account", values={"label": label}, session=session,
            code=decision.code, category=decision.category,
        )  # fmt: skip
    if action in ("stop", "start"):
        turn: Literal["stop", "start"] = "stop" if action == "stop" else "start"
        return Turn(turn, decision.reason, lang, reply=decision.reply, opt_out=action == "stop", end_session=True)
    if action == "status":
        return _status(decision, ctx, catalogue)
    # a ticket
    for t in ctx.recent:
        if (
            t.status in MERGEABLE
            and t.code == decision.code
            and t.account == decision.account
            and ctx.now - t.received_at <= timedelta(seconds=settings.repeat_window)
        ):
            return Turn(
                "merge", f"repeat of {t.ref}", lang, code=decision.code, category=decision.category,
                account=decision.account, ticket=t, reply="already_registered",
                values={"ref": t.ref, "label": _label(catalogue, t.code, lang)}, end_session=True,
            )  # fmt: skip
    if ctx.tickets_last_hour >= settings.max_tickets_per_hour:
        return Turn("silent", f"not answered: {ctx.tickets_last_hour} tickets this hour", lang, end_session=True)
    opened = Turn(
        "ticket", decision.reason, lang, code=decision.code, category=decision.category, account=decision.account,
        reply=decision.reply, values={"label": _label(catalogue, decision.code, lang)}, end_session=True,
    )  # fmt: skip
    return _linked(opened, ctx, catalogue)


def _linked(turn: Turn, ctx: Context, catalogue: Catalogue) -> Turn:
    """An outage report of a known outage is linked to it, and the reply says so: the outage
    still on (its area, since when, its ETR), or the customer still out after a restoration."""
    outage = ctx.outage
    reply = {"linked": "outage_linked", "still_out": "still_out"}.get(outage.kind) if outage else None
    if outage is None or turn.category != OUTAGE_CATEGORY or reply not in catalogue.replies:
        return turn
    values = {**turn.values, **outage_values(outage, ctx, turn.language)}
    reason = f"{turn.reason}; {outage.kind.replace('_', ' ')} report of outage {outage.id}"
    return replace(turn, reason=reason, reply=reply, values=values, outage=(outage.id, outage.kind))


def outage_values(outage: OutageBrief, ctx: Context, lang: str) -> dict[str, str]:
    return {
        "area": outage.areas,
        "since": format_eta(outage.started_at, ctx.tz, lang, ctx.now),
        "eta": format_eta(outage.eta_at, ctx.tz, lang, ctx.now),
    }


def _status(decision: Decision, ctx: Context, catalogue: Catalogue) -> Turn:
    lang = decision.language
    if decision.refs:
        ticket = ctx.named if ctx.named is not None and ctx.named.phone == ctx.phone else None
        if ticket is None:  # not theirs, or no such ticket: the same answer either way
            return Turn("status", "no such ticket for this phone", lang, reply="status_not_found",
                        values={"ref": decision.refs[-1]}, end_session=True)  # fmt: skip
    else:
        ticket = ctx.recent[0] if ctx.recent else None
        if ticket is None:
            return Turn("status", "this phone has no ticket", lang, reply="status_none", end_session=True)
    values = {
        "ref": ticket.ref,
        "label": _label(catalogue, ticket.code, lang),
        "status": catalogue.status_label(ticket.status, lang),
        "opened": format_when(ticket.received_at, ctx.tz, lang),
        "account": ticket.account or "",
        "code": ticket.code,
    }
    reply = decision.reply or "status_found"
    outage = ctx.ticket_outages.get(ticket.id)
    if outage is not None and outage.status == "active" and "status_outage" in catalogue.replies:
        reply = "status_outage"  # the ticket of a known outage: its current ETR
        values.update(outage_values(outage, ctx, lang))
    return Turn("status", f"status of {ticket.ref}", lang, ticket=ticket, reply=reply,
                values=values, end_session=True)  # fmt: skip


def _label(catalogue: Catalogue, code: str | None, lang: str) -> str:
    c = catalogue.code(code or "")
    if c is None:
        return code or ""
    return c.labels.get(lang) or c.labels.get("en") or c.category or c.code
