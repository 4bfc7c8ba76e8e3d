"""Cell broadcasts heard: each message once, with the modems that heard it.

A message is its message identifier and serial number (the update number is part of the
serial: an update is a new message). The first hearing writes it; every later one, by any
modem, only notes that modem and when. Written in SQL SQLite and PostgreSQL both run
(``INSERT ... ON CONFLICT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.store.base import StoreBase, stamp


@dataclass(frozen=True)
class CellBroadcastRow:
    """One message as ``gateway cap received`` shows it."""

    id: int
    message_id: int
    serial: int
    geo_scope: int
    message_code: int
    update_number: int
    dcs: int
    language: str | None
    text: str
    pages: int
    received_at: str
    last_heard_at: str
    modems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "serial": self.serial,
            "message_code": self.message_code,
            "update_number": self.update_number,
            "geo_scope": self.geo_scope,
            "language": self.language,
            "text": self.text,
            "pages": self.pages,
            "received_at": self.received_at,
            "last_heard_at": self.last_heard_at,
            "modems": list(self.modems),
        }


@dataclass(frozen=True)
class HeardBroadcast:
    """What a modem heard, as the store takes it (the fields of :class:`sim_bank.CellMessage`)."""

    message_id: int
    serial: int
    dcs: int
    language: str | None
    text: str
    pages: int


_COLUMNS = (
    "id, message_id, serial, geo_scope, message_code, update_number, dcs, language, text, pages, "
    "received_at, last_heard_at"
)


class CellBroadcastMixin(StoreBase):
    async def record_cell_broadcast(
        self, modem_id: str, heard: HeardBroadcast, now: datetime | None = None
    ) -> tuple[CellBroadcastRow, bool]:
        """Note that ``modem_id`` heard ``heard``; the row, and True when the message is new."""
        at = stamp(now)
        serial = heard.serial
        async with self._write() as db:
            cur = await db.execute(
                """INSERT INTO cell_broadcasts (message_id, serial, geo_scope, message_code, update_number, dcs,
                                                language, text, pages, received_at, last_heard_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (message_id, serial) DO NOTHING""",
                (heard.message_id, serial, serial >> 14, (serial >> 4) & 0x3FF, serial & 0x0F, heard.dcs,
                 heard.language, heard.text, heard.pages, at, at),
            )  # fmt: skip
            new = cur.rowcount == 1
            if not new:
                await db.execute(
                    "UPDATE cell_broadcasts SET last_heard_at = ? WHERE message_id = ? AND serial = ?",
                    (at, heard.message_id, serial),
                )
            async with db.execute(
                f"SELECT {_COLUMNS} FROM cell_broadcasts WHERE message_id = ? AND serial = ?",
                (heard.message_id, serial),
            ) as rows:
                row = await rows.fetchone()
            assert row is not None
            await db.execute(
                """INSERT INTO cell_broadcast_modems (broadcast_id, modem_id, first_heard_at, last_heard_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (broadcast_id, modem_id)
                   DO UPDATE SET last_heard_at = excluded.last_heard_at, heard = cell_broadcast_modems.heard + 1""",
                (row[0], modem_id, at, at),
            )
            modems = await _modems(db, [row[0]])
        return _broadcast(row, modems), new

    async def cell_broadcasts(self, limit: int = 100) -> list[CellBroadcastRow]:
        """The messages heard, newest first, each with the modems that heard it."""
        async with self._r.execute(
            f"SELECT {_COLUMNS} FROM cell_broadcasts ORDER BY received_at DESC, id DESC LIMIT ?", (limit,)
        ) as cur:
            found = list(await cur.fetchall())
        modems = await _modems(self._r, [r[0] for r in found])
        return [_broadcast(r, modems) for r in found]


def _broadcast(row: Any, modems: dict[int, tuple[str, ...]]) -> CellBroadcastRow:
    values: dict[str, Any] = dict(zip(_COLUMNS.split(", "), row, strict=True))
    return CellBroadcastRow(**values, modems=modems.get(values["id"], ()))


async def _modems(db: Any, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each broadcast's modems, in the order they first heard it."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    out: dict[int, list[str]] = {}
    async with db.execute(
        f"""SELECT broadcast_id, modem_id FROM cell_broadcast_modems WHERE broadcast_id IN ({marks})
            ORDER BY first_heard_at, modem_id""",
        ids,
    ) as cur:
        for broadcast_id, modem_id in await cur.fetchall():
            out.setdefault(broadcast_id, []).append(modem_id)
    return {k: tuple(v) for k, v in out.items()}
