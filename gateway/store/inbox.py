"""Received SMS: raw PDUs as a sweep found them, the parts of long messages, and the
messages they make (routed by :mod:`gateway.store.routing`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from gateway.exceptions import StoreError
from gateway.store.base import StoreBase, stamp
from gateway.store.rows import Assemble, InboundItem, Joined, PartRow, Release


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
