"""Case work on one ticket (``gateway tickets status|note|assign|show``): each change checked
by :mod:`gateway.desk.rules`, then written with its history row in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.desk.rules import check_assignment, check_name, check_note, check_status
from gateway.exceptions import DeskError, NotFound, TicketChanged

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

    @property
    def version(self) -> str:
        return version(self.ticket, self.history)

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


def version(ticket: TicketRow, history: Sequence[HistoryRow]) -> str:
    """The ticket as a person last saw it, in a few characters (the API's ETag): its status,
    assignee and newest history entry, so any change by anyone since (a status, a note, an
    assignment, a reply; the CRM's too) gives another. A change made "if it is still so" is
    refused with :class:`TicketChanged` when the version is not this one any more."""
    import hashlib

    last = history[-1].id if history else 0
    seen = f"{ticket.id}|{ticket.status}|{ticket.assigned_to or ''}|{last}"
    return hashlib.sha256(seen.encode()).hexdigest()[:20]


async def check_version(store: CaseDesk, ticket: TicketRow, expected: Sequence[str]) -> None:
    """Refuse (TicketChanged) unless ``ticket`` is still at one of the ``expected`` versions."""
    now = version(ticket, await store.ticket_history(ticket.id))
    if now not in expected:
        raise TicketChanged(f"ticket {ticket.ref} changed since it was read (it is now {ticket.status}): look again")


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
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        ticket = await find(store, ref, config.database_path)
        return await change_status(
            store, config, ticket, status, actor=actor, note=note, notify=notify, catalogue=catalogue, now=now
        )


async def change_status(
    store: CaseDesk,
    config: Config,
    ticket: TicketRow,
    status: str,
    *,
    actor: str,
    note: str | None = None,
    notify: bool = False,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
) -> Change:
    """:func:`set_status` on an open store, for a ticket already found."""
    actor = check_name(actor)
    note = check_note(note) if note is not None else None
    check_status(ticket.ref, ticket.status, status)
    text, parts = _notice(config, ticket, status, catalogue) if notify else (None, 0)
    entry = await store.change_ticket_status(
        ticket.id, status, expected=ticket.status, actor=actor, note=note, notice=text, now=now
    )
    return Change(await find(store, ticket.id, "this gateway"), entry, text, parts)


async def add_note(config: Config, ref: str, text: str, *, actor: str, now: datetime | None = None) -> Change:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await note_on(store, await find(store, ref, config.database_path), text, actor=actor, now=now)


async def note_on(store: CaseDesk, ticket: TicketRow, text: str, *, actor: str, now: datetime | None = None) -> Change:
    """:func:`add_note` on an open store."""
    actor = check_name(actor)
    note = check_note(text)
    entry = await store.add_ticket_note(ticket.id, note, actor=actor, now=now)
    return Change(ticket, entry)


async def assign(config: Config, ref: str, user: str, *, actor: str, now: datetime | None = None) -> Change:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await assign_on(store, await find(store, ref, config.database_path), user, actor=actor, now=now)


async def assign_on(
    store: CaseDesk, ticket: TicketRow, user: str | None, *, actor: str, now: datetime | None = None
) -> Change:
    """:func:`assign` on an open store; ``user`` None assigns the ticket to nobody."""
    actor = check_name(actor)
    if user is None:
        if ticket.assigned_to is None:
            raise DeskError(f"ticket {ticket.ref} is assigned to nobody: nothing changed")
    else:
        user = check_name(user, "assignee")
        check_assignment(ticket.ref, ticket.assigned_to, user)
    entry = await store.assign_ticket(ticket.id, user, expected=ticket.assigned_to, actor=actor, now=now)
    return Change(await find(store, ticket.id, "this gateway"), entry)


async def update(
    store: CaseDesk,
    config: Config,
    ticket: TicketRow,
    *,
    actor: str,
    status: str | None = None,
    note: str | None = None,
    notify: bool = False,
    assign: bool = False,
    assigned_to: str | None = None,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
) -> list[Change]:
    """Several changes to one ticket at once (the API's ``PATCH``): a status (``note`` kept
    with it, ``notify`` texting the customer), else ``note`` alone as a note; and with
    ``assign`` an assignment to ``assigned_to`` (None: nobody). Every change is checked before
    the first is written, so a refused one writes nothing; each is then written in its own
    transaction, status first (a change made meanwhile by another stops the rest: TicketChanged)."""
    actor = check_name(actor)
    if notify and status is None:
        raise DeskError("notify texts the customer the words of a new status: give the status too")
    if status is None and note is None and not assign:
        raise DeskError("nothing to change: give a status, a note or an assignee")
    if status is not None:
        check_status(ticket.ref, ticket.status, status)
    if note is not None:
        note = check_note(note)
    if assign and assigned_to is not None:
        check_assignment(ticket.ref, ticket.assigned_to, check_name(assigned_to, "assignee"))
    elif assign and ticket.assigned_to is None:
        raise DeskError(f"ticket {ticket.ref} is assigned to nobody: nothing changed")
    if notify and status is not None:
        _notice(config, ticket, status, catalogue)  # an unsendable notice refuses the whole change
    changes = []
    if status is not None:
        changes.append(
            await change_status(
                store, config, ticket, status, actor=actor, note=note, notify=notify, catalogue=catalogue, now=now
            )
        )
    elif note is not None:
        changes.append(await note_on(store, ticket, note, actor=actor, now=now))
    if assign:
        current = changes[-1].ticket if changes else ticket
        changes.append(await assign_on(store, current, assigned_to, actor=actor, now=now))
    return changes


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
