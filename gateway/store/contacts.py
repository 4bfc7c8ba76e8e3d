"""Contacts and groups: the people broadcasts reach besides those who texted in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from gateway.store.base import StoreBase, _rows, stamp
from gateway.store.rows_broadcast import ContactRow, NewContact


class ContactsMixin(StoreBase):
    async def upsert_contacts(
        self, contacts: Sequence[NewContact], group: str | None = None, now: datetime | None = None
    ) -> tuple[int, int]:
        """Add or update ``contacts`` (a cell left empty keeps what was known) and put them in
        ``group``, in one transaction. Returns (new, updated)."""
        if not contacts:
            return 0, 0
        at = stamp(now)
        phones = list(dict.fromkeys(c.phone for c in contacts))
        async with self._write() as db:
            existing = 0
            for i in range(0, len(phones), 500):
                chunk = phones[i : i + 500]
                marks = ", ".join("?" for _ in chunk)
                async with db.execute(f"SELECT COUNT(*) FROM contacts WHERE phone IN ({marks})", chunk) as cur:
                    existing += (await cur.fetchone() or (0,))[0]
            await db.executemany(
                """INSERT INTO contacts (phone, name, language, area, account, attrs, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (phone) DO UPDATE SET
                       name = COALESCE(excluded.name, name),
                       language = COALESCE(excluded.language, language),
                       area = COALESCE(excluded.area, area),
                       account = COALESCE(excluded.account, account),
                       attrs = CASE WHEN excluded.attrs IS NULL THEN attrs
                                    WHEN attrs IS NULL THEN excluded.attrs
                                    ELSE json_patch(attrs, excluded.attrs) END,
                       updated_at = excluded.updated_at""",
                [
                    (c.phone, c.name, c.language, c.area, c.account,
                     json.dumps(c.attrs, ensure_ascii=False) if c.attrs else None, at)
                    for c in contacts
                ],
            )  # fmt: skip
            if group:
                await db.executemany(
                    "INSERT OR IGNORE INTO contact_groups (name, phone) VALUES (?, ?)", [(group, p) for p in phones]
                )
        return len(phones) - existing, existing

    async def contacts(
        self,
        group: str | None = None,
        area: str | None = None,
        limit: int = 50,
        *,
        search: str | None = None,
        digits: str | None = None,
    ) -> list[ContactRow]:
        """Contacts by phone number, of ``group``, of ``area``; with ``search``, those whose
        name, area or account holds it (or whose number holds ``digits``, or it)."""
        sql, params = _contacts_query("SELECT c.*", group, area, search, digits)
        async with self._r.execute(sql + " ORDER BY c.phone LIMIT ?", (*params, limit)) as cur:
            return _rows(ContactRow, await cur.fetchall())

    async def count_contacts(self, group: str | None = None, area: str | None = None) -> int:
        sql, params = _contacts_query("SELECT COUNT(*)", group, area)
        async with self._r.execute(sql, params) as cur:
            return int((await cur.fetchone() or (0,))[0])

    async def groups(self) -> list[tuple[str, int]]:
        async with self._r.execute(
            "SELECT name, COUNT(*) FROM contact_groups GROUP BY name ORDER BY name"
        ) as cur:  # fmt: skip
            return [(str(n), int(c)) for n, c in await cur.fetchall()]


def _contacts_query(
    select: str, group: str | None, area: str | None, search: str | None = None, digits: str | None = None
) -> tuple[str, list[str]]:
    sql = f"{select} FROM contacts c"
    params: list[str] = []
    if group is not None:
        sql += " JOIN contact_groups g ON g.phone = c.phone AND g.name = ?"
        params.append(group)
    where = []
    if area is not None:
        where.append("c.area = ?")
        params.append(area)
    if search is not None:
        like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        number = "%" + digits + "%" if digits else like
        where.append(
            "(c.name LIKE ? ESCAPE '\\' OR c.area LIKE ? ESCAPE '\\' OR c.account LIKE ? ESCAPE '\\'"
            " OR c.phone LIKE ? ESCAPE '\\' OR c.phone LIKE ? ESCAPE '\\')"
        )
        params += [like, like, like, like, number]
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, params
