"""Console sessions (``POST /api/v1/session``): who signed in, from where, until when.

Only the SHA-256 of a session's id is kept (the id is the cookie, a random 256-bit secret:
as for a token, a fast hash is enough); a stolen database signs nobody in. A session is
ended, never deleted: signed out, or ended with the user's other sessions when the password
changes or the user is disabled. Starting and ending one are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gateway.store import audit
from gateway.store.base import StoreBase, _row, stamp
from gateway.store.rows_access import Actor

END_REASONS = ("signed_out", "password_changed", "disabled")


@dataclass(frozen=True)
class SessionRow:
    """A session with its user as they are now (role, language, disabled or not)."""

    id: int
    user_name: str
    address: str
    created_at: str
    expires_at: str
    ended_at: str | None
    role: str
    language: str
    disabled_at: str | None

    def alive(self, now: datetime | None = None) -> bool:
        """Not ended, not expired, and its user not disabled."""
        return self.ended_at is None and self.disabled_at is None and self.expires_at > stamp(now)


SESSION_QUERY = """SELECT s.id, s.user_name, s.address, s.created_at, s.expires_at, s.ended_at,
                          u.role, u.language, u.disabled_at
                   FROM sessions s JOIN users u ON u.name = s.user_name"""


async def end_sessions(
    db: aiosqlite.Connection, user: str, reason: str, *, keep: str | None = None, now: datetime | None = None
) -> int:
    """End ``user``'s open sessions (but the one whose hash is ``keep``) inside the caller's
    transaction, which audits why: how many were ended."""
    async with db.execute(
        """UPDATE sessions SET ended_at = ?, end_reason = ?
           WHERE user_name = ? AND ended_at IS NULL AND (? IS NULL OR id_hash <> ?)""",
        (stamp(now), reason, user, keep, keep),
    ) as cur:
        return max(cur.rowcount, 0)


class SessionsMixin(StoreBase):
    async def start_session(
        self, id_hash: str, *, user: str, expires_at: datetime, actor: Actor, now: datetime | None = None
    ) -> SessionRow | None:
        """Start a session for ``user`` (and audit it); None if the user is missing or
        disabled by now (checked in the same transaction)."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """INSERT INTO sessions (id_hash, user_name, address, created_at, expires_at)
                   SELECT ?, name, ?, ?, ? FROM users WHERE lower(name) = lower(?) AND disabled_at IS NULL""",
                (id_hash, actor.address, at, stamp(expires_at), user),
            ) as cur:
                if cur.rowcount < 1:
                    return None
            await audit.record(db, actor, "session.started", actor.name, {"until": stamp(expires_at)}, now=now)
            async with db.execute(f"{SESSION_QUERY} WHERE s.id_hash = ?", (id_hash,)) as cur:
                return _row(SessionRow, await cur.fetchone())

    async def session(self, id_hash: str) -> SessionRow | None:
        """The session with this hash, alive or not, with its user's role as it is now."""
        async with self._r.execute(f"{SESSION_QUERY} WHERE s.id_hash = ?", (id_hash,)) as cur:
            return _row(SessionRow, await cur.fetchone())

    async def end_session(self, id_hash: str, *, actor: Actor, now: datetime | None = None) -> bool:
        """Sign out: end the session (and audit it). False if it had ended already."""
        async with self._write() as db:
            async with db.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = 'signed_out' WHERE id_hash = ? AND ended_at IS NULL",
                (stamp(now), id_hash),
            ) as cur:
                if cur.rowcount < 1:
                    return False
            await audit.record(db, actor, "session.ended", actor.name, {"reason": "signed_out"}, now=now)
            return True
