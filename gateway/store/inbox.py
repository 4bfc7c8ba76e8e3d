"""Received SMS: raw PDUs, the parts of long messages, routing into tickets and replies."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime

import aiosqlite

from gateway.exceptions import StoreError
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.outbox import insert_outbox
from gateway.store.rows import (
    Assemble,
    CustomerRow,
    InboundItem,
    Joined,
    MessageRow,
    Outcome,
    PartRow,
    Release,
    TicketRow,
)


class InboundMixin(StoreBase):
    async def add_inbound(
        self,
        modem_id: str,
        items: Sequence[InboundItem],
        now: datetime | None = None,
        *,
        assemble: Assemble | None = None,
    ) -> list[int]:
        """Commit what a sweep found; returns the ids of messages now complete and waiting to be routed.

        Re-adding a PDU still on the SIM (listed again before its delete) is a no-op. Parts of
        long messages need ``assemble``, the reassembly rule (:func:`gateway.inbound.reassembly.assemble`):
        it decides, inside this transaction, what each part does to its open set.
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
                    if assemble is None:
                        raise StoreError("add_inbound got parts of a long message but no reassembly rule")
                    created += await _add_part(db, pdu_id, key, it, received, assemble)
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

    async def release_group(self, key: str, now: datetime | None = None, *, release: Release) -> int | None:
        """Give up waiting for the rest of one long message: a message of the parts that came,
        as ``release`` (:func:`gateway.inbound.reassembly.release`) joins them (its id), or None
        when it was completed or released meanwhile."""
        async with self._write() as db:
            parts = await _open_parts(db, key)
            joined = release([p for p, _ in parts])
            return await _insert_joined(db, joined, parts) if joined is not None else None

    async def release_incomplete(
        self, older_than: datetime, now: datetime | None = None, *, release: Release
    ) -> list[int]:
        """Long messages whose first part was stored before ``older_than``: route what came."""
        created = []
        for key, first in (await self.incomplete_groups()).items():
            if first < older_than:
                mid = await self.release_group(key, now, release=release)
                if mid is not None:
                    created.append(mid)
        return created

    async def waiting_messages(self, limit: int = 500) -> list[MessageRow]:
        async with self._r.execute("SELECT * FROM messages WHERE state = 'new' ORDER BY id LIMIT ?", (limit,)) as cur:
            return _rows(MessageRow, await cur.fetchall())

    async def customers(self, phones: Collection[str]) -> dict[str, CustomerRow]:
        """What the conversation remembers of each of these phones (those it knows)."""
        if not phones:
            return {}
        rows = await self._r.execute_fetchall(
            f"SELECT * FROM customers WHERE phone IN ({_marks(phones)})", tuple(phones)
        )
        return {c.phone: c for c in _rows(CustomerRow, rows)}

    async def recent_tickets(self, phones: Collection[str], limit: int = 20) -> dict[str, list[TicketRow]]:
        """Each phone's tickets, newest first, at most ``limit`` each (phones without one: absent)."""
        if not phones:
            return {}
        rows = await self._r.execute_fetchall(
            f"""SELECT * FROM (
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY phone ORDER BY received_at DESC, seq DESC) AS recency
                    FROM tickets WHERE phone IN ({_marks(phones)}))
                WHERE recency <= ? ORDER BY phone, recency""",
            (*phones, limit),
        )
        found: dict[str, list[TicketRow]] = {}
        for r in rows:
            found.setdefault(r["phone"], []).append(_row(TicketRow, r))  # type: ignore[arg-type]
        return found

    async def activity_since(self, since: Mapping[str, datetime]) -> dict[str, tuple[int, int]]:
        """Per phone: (tickets opened, replies queued) since that phone's time: the flood limits."""
        if not since:
            return {}
        rows = await self._r.execute_fetchall(
            f"""WITH asked (phone, since) AS (VALUES {", ".join("(?, ?)" for _ in since)})
                SELECT asked.phone,
                       (SELECT COUNT(*) FROM tickets WHERE tickets.phone = asked.phone
                            AND tickets.received_at > asked.since),
                       (SELECT COUNT(*) FROM outbox WHERE outbox.phone = asked.phone
                            AND outbox.created_at > asked.since AND outbox.lane = 'reply')
                FROM asked""",
            [v for phone, at in since.items() for v in (phone, stamp(at))],
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    async def complete_message(
        self, message: MessageRow, outcome: Outcome, now: datetime | None = None
    ) -> tuple[TicketRow | None, int | None]:
        """:meth:`complete_messages` for one message."""
        return (await self.complete_messages([(message, outcome)], now))[0]

    async def complete_messages(
        self, routed: Sequence[tuple[MessageRow, Outcome]], now: datetime | None = None
    ) -> list[tuple[TicketRow | None, int | None]]:
        """Route messages at most once, in one transaction: each message's state, a new ticket
        or a repeat counted on an open one, what to remember of the customer (language,
        opt-out, menu step), and the reply. The same rows as routing them one by one in this
        order, when no two of them come from one phone. Returns (ticket, reply's outbox id)
        per message; (None, None) for one someone routed already."""
        at = stamp(now)
        done: list[tuple[TicketRow | None, int | None]] = [(None, None)] * len(routed)
        if not routed:
            return done
        async with self._write() as db:
            ids = [m.id for m, _ in routed]
            fresh = {
                r[0]
                for r in await db.execute_fetchall(
                    f"SELECT id FROM messages WHERE state = 'new' AND id IN ({_marks(ids)})", ids
                )
            }
            todo = [(i, m, o) for i, (m, o) in enumerate(routed) if m.id in fresh]
            tickets = await self._insert_tickets(db, [(i, m, o) for i, m, o in todo if o.ticket and o.phone])
            merged = [o.merge_into for i, _, o in todo if i not in tickets and o.merge_into is not None]
            if merged:
                await db.executemany(
                    # a synced ticket goes to the CRM again: it should see how often the customer asked
                    """UPDATE tickets SET repeat_count = repeat_count + 1, last_repeat_at = ?,
                           sync_status = CASE sync_status WHEN 'synced' THEN 'queued' ELSE sync_status END
                       WHERE id = ?""",
                    [(at, ticket_id) for ticket_id in merged],
                )
            link = {i: tickets[i].id if i in tickets else o.merge_into for i, _, o in todo}  # the message's ticket
            await db.executemany(
                """UPDATE messages SET state = 'done', sender_kind = ?, phone = ?, action = ?, language = ?,
                       ticket_id = ? WHERE id = ?""",
                [(o.sender_kind, o.phone, o.action, o.language, link[i], m.id) for i, m, o in todo],
            )
            await _remember(db, [o for _, _, o in todo if o.phone and o.sender_kind == "person"], at)
            for i, m, o in todo:
                ticket = tickets.get(i)
                outbox_id = None
                text = o.reply(ticket.ref if ticket else None) if o.reply else None
                if text and o.phone:
                    outbox_id = await insert_outbox(
                        db,
                        o.phone,
                        text,
                        "reply",
                        at,
                        modem_hint=m.modem_id,
                        ticket_id=link[i],
                        message_id=m.id,
                    )
                done[i] = (ticket, outbox_id)
        return done

    async def fail_message(self, message_id: int, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE messages SET state = 'failed', error = ? WHERE id = ? AND state = 'new'", (error, message_id)
            )

    async def _insert_tickets(
        self, db: aiosqlite.Connection, wanted: Sequence[tuple[int, MessageRow, Outcome]]
    ) -> dict[int, TicketRow]:
        """New tickets, numbered on from the highest ``seq`` (the write lock is held), in order."""
        if not wanted:
            return {}
        from ulid import ULID  # imports importlib.metadata: only when a ticket is made

        [(last,)] = await db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) FROM tickets")
        made: dict[int, TicketRow] = {}
        for seq, (i, message, outcome) in enumerate(wanted, start=last + 1):
            assert outcome.ticket is not None and outcome.phone is not None
            made[i] = TicketRow(
                id=f"{self.site}-{ULID()}",
                ref=outcome.ticket.ref_for(seq),
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
        await db.executemany(
            f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [[getattr(t, n) for n in names] for t in made.values()],
        )
        return made


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
    rows = await db.execute_fetchall(
        "SELECT 1 FROM inbound_pdus WHERE modem_id = ? AND pdu = ? AND id <> ? LIMIT 1", (modem_id, pdu, pdu_id)
    )
    return bool(rows)


async def _open_parts(db: aiosqlite.Connection, key: str) -> list[tuple[PartRow, aiosqlite.Row]]:
    """The parts still open under ``key``, by place then id: as the rule sees them, and as stored."""
    rows = await db.execute_fetchall(
        """SELECT id, concat_seq, concat_total, text, sender, alphanumeric, sent_at, received_at, modem_id
           FROM inbound_pdus WHERE concat_key = ? AND kind = 'part' AND message_id IS NULL ORDER BY concat_seq, id""",
        (key,),
    )
    return [(_part(r), r) for r in rows]


def _part(r: aiosqlite.Row) -> PartRow:
    return PartRow(r["id"], r["concat_seq"], r["concat_total"], r["text"], r["sent_at"], r["received_at"])


async def _add_part(
    db: aiosqlite.Connection,
    pdu_id: int,
    key: str,
    it: InboundItem,
    received: str,
    assemble: Assemble,
) -> list[int]:
    """Store what one part (already inserted as ``pdu_id``) does to its set, as ``assemble``
    decides. Returns the ids of messages this created."""
    assert it.concat is not None
    _, total, seq = it.concat
    parts = await _open_parts(db, key)
    new = PartRow(pdu_id, seq, total, it.text, it.sent_at, received)
    assembly = assemble([p for p, _ in parts], new)
    if assembly.duplicate:
        await db.execute("UPDATE inbound_pdus SET kind = 'duplicate' WHERE id = ?", (pdu_id,))
        return []
    created = []
    if assembly.released is not None:
        created.append(await _insert_joined(db, assembly.released, parts))
    if assembly.complete is not None:
        created.append(await _insert_joined(db, assembly.complete, parts))
    return created


async def _insert_joined(
    db: aiosqlite.Connection, joined: Joined, parts: Sequence[tuple[PartRow, aiosqlite.Row]]
) -> int:
    """The message ``joined`` makes of ``parts`` (modem and sender: its first part's, which
    the set's key shares); the parts point at it. Its id."""
    first = next(row for p, row in parts if p.id == joined.part_ids[0])
    mid = await _insert_message(
        db,
        first["modem_id"],
        first["sender"] or "",
        bool(first["alphanumeric"]),
        joined.text,
        joined.parts,
        joined.complete,
        joined.sent_at,
        joined.received_at,
    )
    await db.executemany("UPDATE inbound_pdus SET message_id = ? WHERE id = ?", [(mid, i) for i in joined.part_ids])
    return mid


async def _remember(db: aiosqlite.Connection, outcomes: Sequence[Outcome], at: str) -> None:
    """Each customer's language, opt-out and menu step (one outcome per phone). STOP also
    cancels the broadcasts still queued for them (replies to their own requests still go)."""
    if not outcomes:
        return
    await db.executemany(
        """INSERT INTO customers (phone, language, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (phone) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at""",
        [(o.phone, o.language, at) for o in outcomes],
    )
    opting = [o for o in outcomes if o.opt_out is not None]
    if opting:
        await db.executemany(
            "UPDATE customers SET opted_out = ?, opted_out_at = ? WHERE phone = ?",
            [(int(bool(o.opt_out)), at if o.opt_out else None, o.phone) for o in opting],
        )
    stopped = [(o.phone,) for o in opting if o.opt_out]
    if stopped:
        await db.executemany(
            """UPDATE outbox SET status = 'cancelled', last_error = 'opted out (STOP)'
               WHERE phone = ? AND lane = 'broadcast' AND status IN ('queued', 'held')""",
            stopped,
        )
    steps = [(o.session[0], o.session[1], at, o.phone) for o in outcomes if o.session is not None]
    if steps:
        await db.executemany(
            "UPDATE customers SET session_step = ?, session_code = ?, session_at = ? WHERE phone = ?", steps
        )
    ended = [(o.phone,) for o in outcomes if o.session is None and o.end_session]
    if ended:
        await db.executemany(
            "UPDATE customers SET session_step = NULL, session_code = NULL, session_at = NULL WHERE phone = ?", ended
        )


def _marks(values: Collection[object]) -> str:
    """``?, ?, ?``: one placeholder per value."""
    return ", ".join("?" for _ in values)
