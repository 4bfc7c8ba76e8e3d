"""People the desk manages by hand: opt-outs (the ``customers`` table's, the same state STOP
and START by SMS set) and removing contacts, groups and group members."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from gateway.store import audit
from gateway.store.base import StoreBase, _rows, stamp
from gateway.store.rows import CustomerRow

STOP_REASON = "opted out (STOP)"  # a broadcast cancelled because its phone opted out by SMS


async def cancel_broadcasts(db: aiosqlite.Connection, phones: list[str], reason: str = STOP_REASON) -> int:
    """Cancel the broadcasts still waiting for ``phones`` (queued, or held for a campaign's
    pacing); replies and notifications about their own requests still go. The one way an
    opt-out stops broadcasts: STOP by SMS (routing) and ``gateway optouts add`` both call it."""
    cancelled = 0
    for phone in phones:
        async with db.execute(
            """UPDATE outbox SET status = 'cancelled', last_error = ?
               WHERE phone = ? AND lane = 'broadcast' AND status IN ('queued', 'held')""",
            (reason, phone),
        ) as cur:
            cancelled += max(cur.rowcount, 0)
    return cancelled


class PeopleMixin(StoreBase):
    async def opt_outs(self, limit: int = 50) -> list[CustomerRow]:
        """The phones that opted out, the latest first."""
        async with self._r.execute(
            "SELECT * FROM customers WHERE opted_out = 1 ORDER BY opted_out_at DESC, phone LIMIT ?", (limit,)
        ) as cur:
            return _rows(CustomerRow, await cur.fetchall())

    async def opt_out(
        self, phone: str, *, reason: str, actor: str, now: datetime | None = None
    ) -> tuple[CustomerRow, int] | None:
        """Opt ``phone`` out of broadcasts as STOP does, and cancel its waiting broadcasts, in one
        transaction with the audit entry (by ``actor``): (the customer, broadcasts cancelled); None
        if it had opted out already."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """INSERT INTO customers (phone, opted_out, opted_out_at, updated_at) VALUES (?, 1, ?, ?)
                   ON CONFLICT (phone) DO UPDATE SET opted_out = 1, opted_out_at = excluded.opted_out_at,
                                                     updated_at = excluded.updated_at
                   WHERE opted_out = 0""",
                (phone, at, at),
            ) as cur:
                if cur.rowcount < 1:
                    return None
            cancelled = await cancel_broadcasts(db, [phone], reason)
            await audit.record(db, audit.acting(actor), "optout.added", phone, {"cancelled": cancelled}, now=now)
            async with db.execute("SELECT * FROM customers WHERE phone = ?", (phone,)) as cur:
                [customer] = _rows(CustomerRow, await cur.fetchall())
        return customer, cancelled

    async def opt_in(self, phone: str, *, actor: str, now: datetime | None = None) -> bool:
        """Take back ``phone``'s opt-out as START does (audited, by ``actor``); False if it had none."""
        async with self._write() as db:
            async with db.execute(
                """UPDATE customers SET opted_out = 0, opted_out_at = NULL, updated_at = ?
                   WHERE phone = ? AND opted_out = 1""",
                (stamp(now), phone),
            ) as cur:
                if cur.rowcount < 1:
                    return False
            await audit.record(db, audit.acting(actor), "optout.removed", phone, now=now)
            return True

    async def remove_contact(self, phone: str, *, actor: str) -> list[str] | None:
        """Delete the contact ``phone`` and its group memberships: the groups it was in, or None
        if there was no such contact. What it texted, and its opt-out, stay."""
        async with self._write() as db:
            async with db.execute("SELECT name FROM contact_groups WHERE phone = ? ORDER BY name", (phone,)) as cur:
                groups = [str(name) for (name,) in await cur.fetchall()]
            async with db.execute("DELETE FROM contacts WHERE phone = ?", (phone,)) as cur:
                if cur.rowcount < 1:
                    return None
            await db.execute("DELETE FROM contact_groups WHERE phone = ?", (phone,))
            await audit.record(db, audit.acting(actor), "contact.removed", phone, {"groups": groups})
        return groups

    async def drop_group(self, name: str, *, actor: str) -> int:
        """Delete the group ``name`` (its contacts stay): how many members it had (0: no such group)."""
        async with self._write() as db:
            async with db.execute("DELETE FROM contact_groups WHERE name = ?", (name,)) as cur:
                members = max(cur.rowcount, 0)
            if members:
                await audit.record(db, audit.acting(actor), "group.dropped", name, {"members": members})
            return members

    async def remove_member(self, name: str, phone: str, *, actor: str) -> bool | None:
        """Take ``phone`` out of the group ``name`` (the contact stays): True if it was in it,
        False if it was not, None if there is no such group."""
        async with self._write() as db:
            async with db.execute("DELETE FROM contact_groups WHERE name = ? AND phone = ?", (name, phone)) as cur:
                if cur.rowcount > 0:
                    await audit.record(db, audit.acting(actor), "group.member_removed", name, {"phone": phone})
                    return True
            async with db.execute("SELECT 1 FROM contact_groups WHERE name = ? LIMIT 1", (name,)) as cur:
                return False if await cur.fetchone() is not None else None
