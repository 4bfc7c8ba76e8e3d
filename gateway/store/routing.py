"""The routing side of the inbox: what a round's senders did before, and its decisions.

A round of messages from different senders (:mod:`gateway.inbound.routing`) reads its
senders' history in three queries and commits in one transaction: each message's state,
new tickets or repeats, what the conversation remembers of each customer, and the replies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime

import aiosqlite

from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.events import insert_events, received_json
from gateway.store.outbox import insert_outbox
from gateway.store.people import cancel_broadcasts
from gateway.store.rows import CustomerRow, MessageRow, Outcome
from gateway.store.rows_tickets import TicketRow


class RoutingMixin(StoreBase):
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
            linked = [
                (tickets[i].id, *o.ticket.outage) for i, _, o in todo if i in tickets and o.ticket and o.ticket.outage
            ]
            if linked:  # a report of a known outage, linked in the ticket's transaction (gateway.outages)
                await db.executemany(
                    "INSERT INTO outage_reports (ticket_id, outage_id, kind, at) VALUES (?, ?, ?, ?)",
                    [(ticket_id, outage_id, kind, at) for ticket_id, outage_id, kind in linked],
                )
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
                       ticket_id = ? WHERE id = ? AND state = 'new'""",
                [(o.sender_kind, o.phone, o.action, o.language, link[i], m.id) for i, m, o in todo],
            )
            await _remember(db, [o for _, _, o in todo if o.phone and o.sender_kind == "person"], at)
            journal: list[tuple[str, dict[str, object]]] = []
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
                journal.append(("message.received", received_json(m, o, link[i], outbox_id)))
                if ticket is not None:
                    journal.append(("ticket.opened", ticket.as_json()))
            await insert_events(db, self.site, at, journal)
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
    await cancel_broadcasts(db, [o.phone for o in opting if o.opt_out and o.phone])  # as `optouts add` does
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
