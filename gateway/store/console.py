"""What the console (``gateway/web/console``) reads and writes beyond the API's own calls:
the inbox's counts per status under its filters, and a user's choice of language."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from gateway.store import audit
from gateway.store.base import StoreBase
from gateway.store.rows_access import Actor

if TYPE_CHECKING:
    from gateway.store.reader import TicketFilter


class ConsoleMixin(StoreBase):
    async def ticket_counts(self, where: TicketFilter) -> dict[str, int]:
        """How many tickets ``where`` lets through, per status (its own status filter left out:
        the counts are what each status choice would show)."""
        from dataclasses import replace

        clause, params = replace(where, status=None, before=None).where()
        if where.search is not None:
            fold = where.fold or str.casefold
            await self._r.create_function("fold_text", 1, lambda text: fold(text or ""), deterministic=True)
        sql = f"SELECT status, COUNT(*) FROM tickets WHERE {clause} GROUP BY status"
        async with self._r.execute(sql, params) as cur:
            return {str(k): int(v) for k, v in await cur.fetchall()}

    async def set_user_language(self, name: str, language: str, *, actor: Actor, now: datetime | None = None) -> bool:
        """Set a user's console language (and audit it as ``user.language``); False if there is
        no such user. Their sessions see it on their next request."""
        async with self._write() as db:
            async with db.execute("UPDATE users SET language = ? WHERE name = ?", (language, name)) as cur:
                if cur.rowcount < 1:
                    return False
            await audit.record(db, actor, "user.language", name, {"language": language}, now=now)
            return True
