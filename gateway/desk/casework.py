"""Case work on one ticket (``gateway tickets status|note|assign|show``): each change checked
by :mod:`gateway.desk.rules`, then written with its history row in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.desk.rules import check_assignment, check_name, check_note, check_status
from gateway.exceptions import DeskError, NotFound

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.conversation.catalogue import Catalogue
    from gateway.store import CaseDesk, HistoryRow, MessageRow, OutboxRow, TicketRow

REPLIES_SHOWN = 20  # a ticket's "replies" (newest first), as `tickets show --json` always had


@dataclass(frozen=True)
class Change:
    """What a change did: the ticket after it, its history row, and the SMS queued with it."""

    ticket: TicketRow
    entry: HistoryRow
    notice: str | None = None  # the text queued to the customer (``--notify``)
    notice_parts: int = 0


@dataclass(frozen=True)
class TicketCase:
    """One ticket as the desk shows it: the ticket, its history, its thread (SMS in and out)."""

    ticket: TicketRow
    history: list[HistoryRow]
    messages: list[MessageRow]
    outbox: list[OutboxRow]

    @property
    def notes(self) -> list[HistoryRow]:
        return [h for h in self.history if h.note]

    def thread(self) -> list[dict[str, Any]]:
        """The ticket's messages in and its outbox rows out, in time order."""
        items = [
            {"at": m.received_at, "direction": "in", "message_id": m.id, "phone": m.phone or m.sender,
             "modem": m.modem_id, "text": m.text, "parts": m.parts}
            for m in self.messages
        ] + [
            {"at": o.created_at, "direction": "out", "outbox_id": o.id, "phone": o.phone,
             "modem": o.modem_id or o.modem_hint, "text": o.text, "parts": o.parts, "lane": o.lane,
             "status": o.status, "sent_at": o.sent_at}
            for o in self.outbox
        ]  # fmt: skip
        return sorted(items, key=lambda i: (i["at"], i["direction"] == "out"))

    def as_json(self) -> dict[str, Any]:
        """``tickets show --json``: the ticket's fields and ``replies`` as before, then the desk's."""
        from gateway.outbound.operations import outbox_json

        replies = sorted(self.outbox, key=lambda o: o.id, reverse=True)[:REPLIES_SHOWN]
        return {
            **self.ticket.as_json(),
            "replies": [outbox_json(r) for r in replies],
            "assigned_to": self.ticket.assigned_to,
            "notes": [{"at": h.at, "by": h.actor, "text": h.note} for h in self.notes],
            "history": [h.as_json() for h in self.history],
            "thread": self.thread(),
        }


async def find(store: CaseDesk, ref: str, where: object) -> TicketRow:
    """The ticket ``ref`` names (in any digit script, with or without its dash, or its id)."""
    from gateway.conversation.refs import ref_candidates

    ticket = await store.ticket(*ref_candidates(ref), ref.strip())
    if ticket is None:
        raise NotFound(f"no ticket {ref!r} in {where}")
    return ticket


async def show_case(config: Config, ref: str) -> TicketCase:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await case_of(store, await find(store, ref, config.database_path))


async def case_of(store: CaseDesk, ticket: TicketRow) -> TicketCase:
    messages, outbox = await store.ticket_thread(ticket)
    return TicketCase(ticket, await store.ticket_history(ticket.id), messages, outbox)


async def set_status(
    config: Config,
    ref: str,
    status: str,
    *,
    actor: str,
    note: str | None = None,
    notify: bool = False,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
) -> Change:
    """Change the ticket's status (with a note), and with ``notify`` queue the SMS that tells the
    customer -- the same words a CRM status update uses, in their language and digits."""
    actor = check_name(actor)
    note = check_note(note) if note is not None else None
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        ticket = await find(store, ref, config.database_path)
        check_status(ticket.ref, ticket.status, status)
        text, parts = _notice(config, ticket, status, catalogue) if notify else (None, 0)
        entry = await store.change_ticket_status(
            ticket.id, status, expected=ticket.status, actor=actor, note=note, notice=text, now=now
        )
        return Change(await find(store, ticket.id, config.database_path), entry, text, parts)


async def add_note(config: Config, ref: str, text: str, *, actor: str, now: datetime | None = None) -> Change:
    actor = check_name(actor)
    note = check_note(text)
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        ticket = await find(store, ref, config.database_path)
        entry = await store.add_ticket_note(ticket.id, note, actor=actor, now=now)
        return Change(ticket, entry)


async def assign(config: Config, ref: str, user: str, *, actor: str, now: datetime | None = None) -> Change:
    actor = check_name(actor)
    user = check_name(user, "assignee")
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        ticket = await find(store, ref, config.database_path)
        check_assignment(ticket.ref, ticket.assigned_to, user)
        entry = await store.assign_ticket(ticket.id, user, expected=ticket.assigned_to, actor=actor, now=now)
        return Change(await find(store, ticket.id, config.database_path), entry)


def _notice(config: Config, ticket: TicketRow, status: str, catalogue: Catalogue | None) -> tuple[str, int]:
    from gateway.conversation.keywords import load_catalogue
    from gateway.conversation.replies import status_notice
    from sim_bank import EncodeError
    from sim_bank.pdu import count_parts

    catalogue = catalogue or load_catalogue(config.catalogue_path)
    text = status_notice(
        catalogue,
        status,
        language=ticket.language,
        code=ticket.code,
        category=ticket.category,
        ref=ticket.ref,
        account=ticket.account,
    )
    try:
        return text, count_parts(text)
    except EncodeError as exc:
        raise DeskError(f"the {status} notice cannot be sent as an SMS ({exc}): fix it in the catalogue") from None
