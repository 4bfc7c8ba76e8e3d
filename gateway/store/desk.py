"""Case work on tickets (the desk): status changes, notes, assignments, each kept in the
ticket's history with who made it, and what the desk shows of a ticket (history, thread).

A change is written only if the ticket is still as the caller read it (the status or the
assignee it expects): two agents working one ticket never overwrite each other unseen.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from gateway.exceptions import NotFound, TicketChanged
from gateway.store import audit
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.events import journal_ticket_change
from gateway.store.outbox import insert_outbox
from gateway.store.rows import MessageRow, OutboxRow
from gateway.store.rows_tickets import HistoryRow, TicketRow

CRM_ACTOR = "crm"  # who made a change that came from the CRM; no local user may take the name
THREAD_LIMIT = 500  # messages, and outbox rows, shown with one ticket


class DeskMixin(StoreBase):
    async def change_ticket_status(
        self,
        ticket_id: str,
        status: str,
        *,
        expected: str,
        actor: str,
        note: str | None = None,
        notice: str | None = None,
        now: datetime | None = None,
    ) -> HistoryRow:
        """Set the ticket's ``status`` if it still is ``expected``, in one transaction with its
        history row (``note`` on it) and, with ``notice``, the SMS that tells the customer: in
        the reply lane, preferably from the SIM the customer last texted about this ticket."""
        at = stamp(now)
        async with self._write() as db:
            ticket = await _ticket(db, ticket_id)
            if ticket.status != expected:
                raise TicketChanged(f"ticket {ticket.ref} changed meanwhile (it is now {ticket.status}): look again")
            await db.execute(
                "UPDATE tickets SET status = ?, status_changed_at = ? WHERE id = ?", (status, at, ticket_id)
            )
            outbox_id = None
            if notice:
                hint = await _customer_sim(db, ticket)
                outbox_id = await insert_outbox(
                    db, ticket.phone, notice, "reply", at, modem_hint=hint, ticket_id=ticket.id
                )
            return await insert_history(db, ticket_id, at, actor, "status", expected, status, note, outbox_id)

    async def add_ticket_note(
        self, ticket_id: str, text: str, *, actor: str, now: datetime | None = None
    ) -> HistoryRow:
        at = stamp(now)
        async with self._write() as db:
            await _ticket(db, ticket_id)
            return await insert_history(db, ticket_id, at, actor, "note", None, None, text, None)

    async def assign_ticket(
        self, ticket_id: str, user: str | None, *, expected: str | None, actor: str, now: datetime | None = None
    ) -> HistoryRow:
        """Assign the ticket to ``user`` (None: to nobody) if it is still assigned to ``expected``."""
        at = stamp(now)
        async with self._write() as db:
            ticket = await _ticket(db, ticket_id)
            if ticket.assigned_to != expected:
                raise TicketChanged(
                    f"ticket {ticket.ref} changed meanwhile (it is now assigned to {ticket.assigned_to or 'nobody'}): "
                    "look again"
                )
            await db.execute("UPDATE tickets SET assigned_to = ? WHERE id = ?", (user, ticket_id))
            return await insert_history(db, ticket_id, at, actor, "assign", expected, user, None, None)

    async def customer_sim(self, ticket: TicketRow) -> tuple[str | None, str | None]:
        """The SIM the customer last texted about this ticket, and its state as the daemon last
        published it (``ready``, ``down``, ...; None when it never did)."""
        async with self._r.execute(
            """SELECT m.modem_id, s.state FROM (SELECT COALESCE((SELECT modem_id FROM messages
                   WHERE phone = ? AND ticket_id = ? ORDER BY received_at DESC, id DESC LIMIT 1), ?) AS modem_id) m
               LEFT JOIN sim_status s ON s.modem_id = m.modem_id""",
            (ticket.phone, ticket.id, ticket.modem),
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[0] is None:
            return None, None
        return str(row[0]), str(row[1]) if row[1] is not None else None

    async def add_ticket_reply(
        self,
        ticket_id: str,
        text: str,
        *,
        sim: str | None,
        actor: str,
        template: str | None = None,
        now: datetime | None = None,
    ) -> HistoryRow:
        """Queue ``text`` to the ticket's phone in the reply lane (``sim`` preferred: None, any
        healthy SIM), in one transaction with its history row (``reply``, the template's name as
        its new value)."""
        at = stamp(now)
        async with self._write() as db:
            ticket = await _ticket(db, ticket_id)
            outbox_id = await insert_outbox(db, ticket.phone, text, "reply", at, modem_hint=sim, ticket_id=ticket.id)
            return await insert_history(db, ticket_id, at, actor, "reply", None, template, None, outbox_id)

    async def ticket_history(self, ticket_id: str) -> list[HistoryRow]:
        async with self._r.execute("SELECT * FROM ticket_history WHERE ticket_id = ? ORDER BY id", (ticket_id,)) as cur:
            return _rows(HistoryRow, await cur.fetchall())

    async def ticket_thread(self, ticket: TicketRow) -> tuple[list[MessageRow], list[OutboxRow]]:
        """The customer's messages tied to the ticket (the one that opened it, repeats) and the
        outbox rows tied to it (replies, notices), each oldest first."""
        async with self._r.execute(
            "SELECT * FROM messages WHERE phone = ? AND ticket_id = ? ORDER BY received_at, id LIMIT ?",
            (ticket.phone, ticket.id, THREAD_LIMIT),
        ) as cur:
            messages = _rows(MessageRow, await cur.fetchall())
        async with self._r.execute(
            "SELECT * FROM outbox WHERE ticket_id = ? ORDER BY id LIMIT ?", (ticket.id, THREAD_LIMIT)
        ) as cur:
            outbox = _rows(OutboxRow, await cur.fetchall())
        return messages, outbox


async def insert_history(
    db: aiosqlite.Connection,
    ticket_id: str,
    at: str,
    actor: str,
    action: str,
    old: str | None,
    new: str | None,
    note: str | None,
    outbox_id: int | None,
) -> HistoryRow:
    """One row of a ticket's history, inside the caller's transaction, and its ``ticket.updated`` event."""
    cur = await db.execute(
        """INSERT INTO ticket_history (ticket_id, at, actor, action, old_value, new_value, note, outbox_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (ticket_id, at, actor, action, old, new, note, outbox_id),
    )
    row = HistoryRow(int(cur.lastrowid or 0), ticket_id, at, actor, action, old, new, note, outbox_id)
    await journal_ticket_change(db, row)  # ticket.updated, for the desk's changes and the CRM's alike
    if actor != CRM_ACTOR:  # a person's change is audited; the CRM's updates are the sync's (docs/crm-sync.md)
        await audit.record_ticket_change(db, row)
    return row


async def _ticket(db: aiosqlite.Connection, ticket_id: str) -> TicketRow:
    async with db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)) as cur:
        ticket = _row(TicketRow, await cur.fetchone())
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    return ticket


async def _customer_sim(db: aiosqlite.Connection, ticket: TicketRow) -> str | None:
    """The SIM the customer last texted about this ticket (a repeat may come on another), else
    the one that took the ticket."""
    async with db.execute(
        "SELECT modem_id FROM messages WHERE phone = ? AND ticket_id = ? ORDER BY received_at DESC, id DESC LIMIT 1",
        (ticket.phone, ticket.id),
    ) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row is not None else ticket.modem
