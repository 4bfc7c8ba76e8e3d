"""Received SMS: raw PDUs, multipart assembly, routing into tickets and replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import aiosqlite

from gateway.conversation.refs import format_ref
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.outbox import insert_outbox
from gateway.store.rows import CustomerRow, InboundItem, MessageRow, Outcome, TicketRow


class InboundMixin(StoreBase):
    async def add_inbound(self, modem_id: str, items: Sequence[InboundItem], now: datetime | None = None) -> list[int]:
        """Commit what a sweep found; returns the ids of messages now complete and waiting to be routed.

        Re-adding a PDU still on the SIM (listed again before its delete) is a no-op.
        """
        received = stamp(now)
        created: list[int] = []
        async with self._write() as db:
            for it in items:
                key = f"{modem_id}|{it.sender}|{it.concat[0]}|{it.concat[1]}" if it.concat else None
                cur = await db.execute(
                    """INSERT INTO inbound_pdus (modem_id, memory, sim_index, pdu, kind, error, sender, alphanumeric,
                           text, sent_at, concat_key, concat_seq, concat_total, received_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT DO NOTHING""",
                    (
                        modem_id,
                        it.memory,
                        it.index,
                        it.pdu,
                        it.kind,
                        it.error,
                        it.sender,
                        int(it.alphanumeric),
                        it.text,
                        it.sent_at,
                        key,
                        it.concat[2] if it.concat else None,
                        it.concat[1] if it.concat else None,
                        received,
                    ),
                )
                if cur.rowcount == 0:
                    continue  # listed again before its delete: already stored
                pdu_id = int(cur.lastrowid or 0)
                if await _seen_before(db, modem_id, it.pdu, pdu_id):
                    await db.execute("UPDATE inbound_pdus SET kind = 'duplicate' WHERE id = ?", (pdu_id,))
                    continue  # the network delivered the same SMS (or part) twice
                if it.kind == "sms":
                    mid = await _insert_message(
                        db, modem_id, it.sender or "", it.alphanumeric, it.text or "", 1, True, it.sent_at, received
                    )
                    await db.execute("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", (mid, pdu_id))
                    created.append(mid)
                elif it.kind == "part" and key is not None:
                    created += await _add_part(db, modem_id, pdu_id, key, it, received)
        return created

    async def mark_deleted(self, modem_id: str, memory: str, indexes: Sequence[int]) -> None:
        """The SIM copies are gone: the unique key (modem, memory, index, pdu) may be reused."""
        if not indexes:
            return
        async with self._write() as db:
            await db.executemany(
                "UPDATE inbound_pdus SET on_sim = 0 WHERE modem_id = ? AND memory = ? AND sim_index = ? AND on_sim = 1",
                [(modem_id, memory, i) for i in indexes],
            )

    async def incomplete_groups(self) -> dict[str, datetime]:
        """Long messages still missing parts: concatenation key -> when their first part was
        stored (wall clock, as written)."""
        async with self._r.execute(
            """SELECT concat_key, MIN(received_at) FROM inbound_pdus WHERE kind = 'part' AND message_id IS NULL
               GROUP BY concat_key"""
        ) as cur:
            return {r[0]: datetime.fromisoformat(r[1]) for r in await cur.fetchall()}

    async def release_group(self, key: str, now: datetime | None = None) -> int | None:
        """Give up waiting for the rest of one long message: a message of the parts that came
        (its id), or None when it was completed or released meanwhile."""
        async with self._write() as db:
            return await _release_set(db, key, stamp(now))

    async def release_incomplete(self, older_than: datetime, now: datetime | None = None) -> list[int]:
        """Long messages whose first part was stored before ``older_than``: route what came."""
        created = []
        for key, first in (await self.incomplete_groups()).items():
            if first < older_than:
                mid = await self.release_group(key, now)
                if mid is not None:
                    created.append(mid)
        return created

    async def waiting_messages(self, limit: int = 500) -> list[MessageRow]:
        async with self._r.execute("SELECT * FROM messages WHERE state = 'new' ORDER BY id LIMIT ?", (limit,)) as cur:
            return _rows(MessageRow, await cur.fetchall())

    async def customer(self, phone: str) -> CustomerRow | None:
        async with self._r.execute("SELECT * FROM customers WHERE phone = ?", (phone,)) as cur:
            return _row(CustomerRow, await cur.fetchone())

    async def recent_tickets(self, phone: str, limit: int = 20) -> list[TicketRow]:
        """This phone's tickets, newest first."""
        async with self._r.execute(
            "SELECT * FROM tickets WHERE phone = ? ORDER BY received_at DESC, seq DESC LIMIT ?", (phone, limit)
        ) as cur:
            return _rows(TicketRow, await cur.fetchall())

    async def activity_since(self, phone: str, since: datetime) -> tuple[int, int]:
        """(tickets opened, replies queued) for this phone since ``since``: the flood limits."""
        async with self._r.execute(
            "SELECT COUNT(*) FROM tickets WHERE phone = ? AND received_at > ?", (phone, stamp(since))
        ) as cur:
            tickets = (await cur.fetchone() or (0,))[0]
        async with self._r.execute(
            "SELECT COUNT(*) FROM outbox WHERE phone = ? AND created_at > ? AND lane = 'reply'", (phone, stamp(since))
        ) as cur:
            replies = (await cur.fetchone() or (0,))[0]
        return int(tickets), int(replies)

    async def complete_message(
        self, message: MessageRow, outcome: Outcome, now: datetime | None = None
    ) -> tuple[TicketRow | None, int | None]:
        """Route one message at most once, in one transaction: the message's state, a new
        ticket or a repeat counted on an open one, what to remember of the customer
        (language, opt-out, menu step), and the reply."""
        at = stamp(now)
        async with self._write() as db:
            cur = await db.execute(
                """UPDATE messages SET state = 'done', sender_kind = ?, phone = ?, action = ?, language = ?
                   WHERE id = ? AND state = 'new'""",
                (outcome.sender_kind, outcome.phone, outcome.action, outcome.language, message.id),
            )
            if cur.rowcount == 0:
                return None, None  # someone routed it already
            ticket = None
            if outcome.ticket is not None and outcome.phone:
                ticket = await self._insert_ticket(db, message, outcome, at)
                await db.execute("UPDATE messages SET ticket_id = ? WHERE id = ?", (ticket.id, message.id))
            elif outcome.merge_into is not None:
                await db.execute(
                    # a synced ticket goes to the CRM again: it should see how often the customer asked
                    """UPDATE tickets SET repeat_count = repeat_count + 1, last_repeat_at = ?,
                           sync_status = CASE sync_status WHEN 'synced' THEN 'queued' ELSE sync_status END
                       WHERE id = ?""",
                    (at, outcome.merge_into),
                )
                await db.execute("UPDATE messages SET ticket_id = ? WHERE id = ?", (outcome.merge_into, message.id))
            if outcome.phone and outcome.sender_kind == "person":
                await _remember(db, outcome, at)
            outbox_id = None
            text = outcome.reply(ticket.ref if ticket else None) if outcome.reply else None
            if text and outcome.phone:
                outbox_id = await insert_outbox(
                    db,
                    outcome.phone,
                    text,
                    "reply",
                    at,
                    modem_hint=message.modem_id,
                    ticket_id=ticket.id if ticket else outcome.merge_into,
                    message_id=message.id,
                )
        return ticket, outbox_id

    async def fail_message(self, message_id: int, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE messages SET state = 'failed', error = ? WHERE id = ? AND state = 'new'", (error, message_id)
            )

    async def _insert_ticket(
        self, db: aiosqlite.Connection, message: MessageRow, outcome: Outcome, at: str
    ) -> TicketRow:
        async with db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets") as cur:
            (seq,) = await cur.fetchone()  # type: ignore[misc]
        assert outcome.ticket is not None and outcome.phone is not None
        from ulid import ULID  # imports importlib.metadata: only when a ticket is made

        ticket = TicketRow(
            id=f"{self.site}-{ULID()}",
            ref=format_ref(self.site, seq),
            seq=seq,
            site=self.site,
            phone=outcome.phone,
            category=outcome.ticket.category,
            code=outcome.ticket.code,
            account=outcome.ticket.account,
            text=message.text,
            language=outcome.language,
            status="open",
            received_at=message.received_at,
            modem=message.modem_id,
            message_id=message.id,
            synced_at=None,
            crm_id=None,
        )
        names = [f.name for f in fields(TicketRow)]
        await db.execute(
            f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [getattr(ticket, n) for n in names],
        )
        return ticket


async def _insert_message(
    db: aiosqlite.Connection,
    modem_id: str,
    sender: str,
    alphanumeric: bool,
    text: str,
    parts: int,
    complete: bool,
    sent_at: str | None,
    received_at: str,
) -> int:
    cur = await db.execute(
        """INSERT INTO messages (modem_id, sender, alphanumeric, text, parts, complete, sent_at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (modem_id, sender, int(alphanumeric), text, parts, int(complete), sent_at, received_at),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


async def _seen_before(db: aiosqlite.Connection, modem_id: str, pdu: str, pdu_id: int) -> bool:
    """An identical PDU -- same sender, text and SMSC timestamp to the second -- is the
    network's redelivery (it did not get the modem's acknowledgement), not a new message."""
    async with db.execute(
        "SELECT 1 FROM inbound_pdus WHERE modem_id = ? AND pdu = ? AND id <> ? LIMIT 1",
        (modem_id, pdu, pdu_id),
    ) as cur:
        return await cur.fetchone() is not None


async def _open_parts(db: aiosqlite.Connection, key: str) -> list[aiosqlite.Row]:
    async with db.execute(
        """SELECT id, concat_seq, concat_total, text, sender, alphanumeric, sent_at, received_at, modem_id
           FROM inbound_pdus WHERE concat_key = ? AND kind = 'part' AND message_id IS NULL ORDER BY concat_seq, id""",
        (key,),
    ) as cur:
        return list(await cur.fetchall())


async def _add_part(
    db: aiosqlite.Connection, modem_id: str, pdu_id: int, key: str, it: InboundItem, received: str
) -> list[int]:
    """Store one part of a long message; when the set is complete, join it into a message.
    Returns the ids of messages this created."""
    assert it.concat is not None
    _, total, seq = it.concat
    created: list[int] = []
    parts: list[dict[str, Any]] = [dict(p) for p in await _open_parts(db, key) if p["id"] != pdu_id]
    same_seq = [p for p in parts if p["concat_seq"] == seq]
    if same_seq:
        if same_seq[0]["text"] == it.text:
            await db.execute("UPDATE inbound_pdus SET kind = 'duplicate' WHERE id = ?", (pdu_id,))
            return created  # the network delivered this part twice
        # the sender's phone reused the reference before the old message was complete:
        # the old parts become a message of their own; this part starts a new set
        released = await _release_set(db, key, received, exclude=pdu_id)
        if released is not None:
            created.append(released)
        parts = []
    parts.append({"id": pdu_id, "concat_seq": seq, "text": it.text, "sent_at": it.sent_at, "received_at": received})
    by_seq: dict[int, Any] = {}
    for p in parts:
        by_seq.setdefault(p["concat_seq"], p)
    if len(by_seq) < total:
        return created
    ordered = [by_seq[s] for s in sorted(by_seq)]
    text = "".join(p["text"] or "" for p in ordered)
    first = ordered[0]
    mid = await _insert_message(
        db,
        modem_id,
        it.sender or "",
        it.alphanumeric,
        text,
        total,
        True,
        first["sent_at"],
        min(p["received_at"] for p in ordered),
    )
    await db.executemany("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", [(mid, p["id"]) for p in ordered])
    return [*created, mid]


async def _release_set(db: aiosqlite.Connection, key: str, at: str, exclude: int | None = None) -> int | None:
    """Turn an incomplete set of parts into a message of what arrived (gaps marked with …)."""
    parts = [p for p in await _open_parts(db, key) if p["id"] != exclude]
    if not parts:
        return None
    by_seq: dict[int, aiosqlite.Row] = {}
    for p in parts:
        by_seq.setdefault(p["concat_seq"], p)
    total = parts[0]["concat_total"]
    pieces = []
    for s in range(1, total + 1):
        pieces.append((by_seq[s]["text"] or "") if s in by_seq else " … ")
    first = parts[0]
    mid = await _insert_message(
        db,
        first["modem_id"],
        first["sender"] or "",
        bool(first["alphanumeric"]),
        "".join(pieces).strip(),
        total,
        False,
        first["sent_at"],
        min(p["received_at"] for p in parts),
    )
    await db.executemany("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", [(mid, p["id"]) for p in parts])
    return mid


async def _remember(db: aiosqlite.Connection, outcome: Outcome, at: str) -> None:
    """The customer's language, opt-out and menu step. STOP also cancels the broadcasts
    still queued for them (replies to their own requests still go)."""
    assert outcome.phone is not None
    await db.execute(
        """INSERT INTO customers (phone, language, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (phone) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at""",
        (outcome.phone, outcome.language, at),
    )
    if outcome.opt_out is not None:
        await db.execute(
            "UPDATE customers SET opted_out = ?, opted_out_at = ? WHERE phone = ?",
            (int(outcome.opt_out), at if outcome.opt_out else None, outcome.phone),
        )
        if outcome.opt_out:
            await db.execute(
                """UPDATE outbox SET status = 'cancelled', last_error = 'opted out (STOP)'
                   WHERE phone = ? AND lane = 'broadcast' AND status IN ('queued', 'held')""",
                (outcome.phone,),
            )
    if outcome.session is not None:
        step, code = outcome.session
        await db.execute(
            "UPDATE customers SET session_step = ?, session_code = ?, session_at = ? WHERE phone = ?",
            (step, code, at, outcome.phone),
        )
    elif outcome.end_session:
        await db.execute(
            "UPDATE customers SET session_step = NULL, session_code = NULL, session_at = NULL WHERE phone = ?",
            (outcome.phone,),
        )
