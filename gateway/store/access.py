"""Users and API tokens (``gateway users``, ``gateway tokens``; the API's sign-in).

Each write records itself in the audit log (:func:`gateway.store.audit.record`) in its own
transaction. Only hashes are stored: an argon2id PHC string for a password, the SHA-256 of
a token; the caller hashes (:mod:`gateway.access.secrets`), the store never sees a secret.
Names are unique in any letter case (``Sara`` and ``sara`` are one user).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.store import audit
from gateway.store.base import StoreBase, _row, _rows, stamp, utcnow
from gateway.store.rows_access import Actor, TokenRow, UserRow
from gateway.store.sessions import SessionsMixin, end_sessions

LAST_USED_EVERY = timedelta(seconds=60)  # a token's last use is written at most once a minute


class AccessMixin(SessionsMixin, StoreBase):
    async def users(self) -> list[UserRow]:
        async with self._r.execute("SELECT * FROM users ORDER BY lower(name)") as cur:
            return _rows(UserRow, await cur.fetchall())

    async def user(self, name: str) -> UserRow | None:
        """The user ``name``, in any letter case."""
        async with self._r.execute("SELECT * FROM users WHERE lower(name) = lower(?)", (name,)) as cur:
            return _row(UserRow, await cur.fetchone())

    async def add_user(
        self, name: str, *, role: str, language: str, password_hash: str, actor: Actor, now: datetime | None = None
    ) -> UserRow | None:
        """Add a user (and its audit entry); None if the name is taken, in any letter case."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """INSERT INTO users (name, role, language, password_hash, created_at, password_changed_at)
                   SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(name) = lower(?))""",
                (name, role, language, password_hash, at, at, name),
            ) as cur:
                if cur.rowcount < 1:
                    return None
            await audit.record(db, actor, "user.added", name, {"role": role, "language": language}, now=now)
            async with db.execute("SELECT * FROM users WHERE name = ?", (name,)) as cur:
                return _row(UserRow, await cur.fetchone())

    async def disable_user(self, name: str, *, actor: Actor, now: datetime | None = None) -> bool | None:
        """Disable the user ``name`` and end their sessions: True; False if it was disabled
        already; None if no such user."""
        async with self._write() as db:
            async with db.execute("SELECT name, disabled_at FROM users WHERE lower(name) = lower(?)", (name,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            if row["disabled_at"] is not None:
                return False
            await db.execute("UPDATE users SET disabled_at = ? WHERE name = ?", (stamp(now), row["name"]))
            ended = await end_sessions(db, row["name"], "disabled", now=now)
            await audit.record(
                db, actor, "user.disabled", row["name"], {"sessions_ended": ended} if ended else None, now=now
            )
            return True

    async def enable_user(self, name: str, *, actor: Actor, now: datetime | None = None) -> bool | None:
        """Let a disabled user sign in again: True; False if they were not disabled; None if no such user."""
        async with self._write() as db:
            async with db.execute("SELECT name, disabled_at FROM users WHERE lower(name) = lower(?)", (name,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            if row["disabled_at"] is None:
                return False
            await db.execute("UPDATE users SET disabled_at = NULL WHERE name = ?", (row["name"],))
            await audit.record(db, actor, "user.enabled", row["name"], now=now)
            return True

    async def set_password(
        self,
        name: str,
        password_hash: str,
        *,
        actor: Actor,
        keep_session: str | None = None,
        now: datetime | None = None,
    ) -> str | None:
        """Replace the user's password hash and end their sessions but ``keep_session`` (the
        hash of the session that asked, if one did): the user's name as stored, or None if no such user."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute("SELECT name FROM users WHERE lower(name) = lower(?)", (name,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await db.execute(
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?",
                (password_hash, at, row["name"]),
            )
            ended = await end_sessions(db, row["name"], "password_changed", keep=keep_session, now=now)
            await audit.record(
                db, actor, "user.password_changed", row["name"], {"sessions_ended": ended} if ended else None, now=now
            )
            return str(row["name"])

    async def tokens(self) -> list[TokenRow]:
        async with self._r.execute("SELECT * FROM tokens ORDER BY lower(name)") as cur:
            return _rows(TokenRow, await cur.fetchall())

    async def add_token(
        self, name: str, *, role: str, language: str, token_hash: str, actor: Actor, now: datetime | None = None
    ) -> TokenRow | None:
        """Add a token by its hash (and its audit entry); None if the name was ever taken (a
        revoked token keeps its name, so that the audit log's names stay one token each)."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """INSERT INTO tokens (name, role, language, token_hash, created_at, created_by)
                   SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE lower(name) = lower(?))""",
                (name, role, language, token_hash, at, actor.name, name),
            ) as cur:
                if cur.rowcount < 1:
                    return None
            await audit.record(db, actor, "token.created", name, {"role": role}, now=now)
            async with db.execute("SELECT * FROM tokens WHERE name = ?", (name,)) as cur:
                return _row(TokenRow, await cur.fetchone())

    async def revoke_token(self, name: str, *, actor: Actor, now: datetime | None = None) -> bool | None:
        """Revoke the token ``name``: True; False if it was revoked already; None if no such token."""
        async with self._write() as db:
            async with db.execute("SELECT name, revoked_at FROM tokens WHERE lower(name) = lower(?)", (name,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            if row["revoked_at"] is not None:
                return False
            await db.execute("UPDATE tokens SET revoked_at = ? WHERE name = ?", (stamp(now), row["name"]))
            await audit.record(db, actor, "token.revoked", row["name"], now=now)
            return True

    async def token_by_hash(self, token_hash: str) -> TokenRow | None:
        async with self._r.execute("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,)) as cur:
            return _row(TokenRow, await cur.fetchone())

    async def token_used(self, token_id: int, now: datetime | None = None) -> None:
        """Note a token's use: written when the last one noted is a minute old or more, so that
        a busy integration does not turn every request into a write."""
        at = now or utcnow()
        async with self._write() as db:
            await db.execute(
                "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                (stamp(at), token_id, stamp(at - LAST_USED_EVERY)),
            )
