"""Console sessions: a person signs in with their name and password and gets a session for
``[web] session_hours`` (the API's ``/api/v1/session``; the console of issue 15 uses it).

A session's id is 32 random bytes, the cookie's value, stored only as its SHA-256
(:mod:`gateway.store.sessions`). Its CSRF token is derived from the id (an HMAC of it), so it
needs no column and cannot be made without the cookie, which scripts on other sites never
read (HttpOnly) nor send (SameSite=Strict). A session works while it is not ended, not
expired and its user not disabled, checked on every request: disabling a user or changing
their password (which ends their other sessions) takes effect at the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from gateway.access.hashing import token_hash
from gateway.access.principal import Principal
from gateway.access.roles import actions_of
from gateway.access.users import verify_password
from gateway.store.rows_access import Actor

if TYPE_CHECKING:
    from gateway.store.protocols_sessions import SessionBook
    from gateway.store.sessions import SessionRow

log = structlog.get_logger(__name__)

SESSION_BYTES = 32  # 256 random bits, as a token's
SESSION_ID_MAX = 128  # characters: a longer cookie is not one we made (not even hashed)


@dataclass(frozen=True)
class Signed:
    """A live session: who, until when, and the CSRF token its writes must carry."""

    principal: Principal
    csrf_token: str
    expires_at: str

    def as_json(self) -> dict[str, Any]:
        """What ``POST`` and ``GET /api/v1/session`` answer: the user, their role's actions."""
        return {
            **self.principal.as_json(),
            "actions": actions_of(self.principal.role),
            "csrf_token": self.csrf_token,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class NewSession:
    """A session just started: its id (the cookie's value) exists only here and in the browser."""

    session_id: str
    signed: Signed


def session_hash(session_id: str) -> str:
    """What the store keeps of a session id (hex SHA-256)."""
    return token_hash(session_id)


def csrf_for(session_id: str) -> str:
    """The session's CSRF token: HMAC-SHA256 keyed by the session id (URL-safe, no padding)."""
    digest = hmac.new(session_id.encode("utf-8"), b"gateway csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_matches(session_id: str, given: str | None) -> bool:
    """Does ``given`` (a header or form field) carry the session's CSRF token? In constant time."""
    return given is not None and hmac.compare_digest(csrf_for(session_id).encode(), given.strip().encode())


async def sign_in(
    store: SessionBook, name: str, password: str, *, hours: float, address: str, now: datetime | None = None
) -> NewSession | None:
    """Start a session for ``name`` if ``password`` is theirs and they are not disabled; else
    None (the reason is logged by :func:`gateway.access.users.verify_password`, never the password)."""
    from gateway.store.base import utcnow

    who = await verify_password(store, name, password)
    if who is None:
        return None
    at = now or utcnow()
    session_id = secrets.token_urlsafe(SESSION_BYTES)
    row = await store.start_session(
        session_hash(session_id), user=who.name, expires_at=at + timedelta(hours=hours),
        actor=Actor(who.name, "user", address), now=at,
    )  # fmt: skip
    if row is None:  # disabled between the password check and now
        return None
    log.info("signed_in", user=who.name, address=address, until=row.expires_at)
    return NewSession(session_id, _signed(row, session_id))


async def session_of(store: SessionBook, session_id: str, now: datetime | None = None) -> Signed | None:
    """The live session with this id, or None (unknown, ended, expired, or its user disabled)."""
    if not session_id or len(session_id) > SESSION_ID_MAX:
        return None
    row = await store.session(session_hash(session_id))
    if row is None or not row.alive(now):
        return None
    return _signed(row, session_id)


async def sign_out(store: SessionBook, session_id: str, *, address: str, now: datetime | None = None) -> bool:
    """End the session (audited as its user from ``address``): False if it was not live."""
    signed = await session_of(store, session_id, now)
    if signed is None:
        return False
    done = await store.end_session(
        session_hash(session_id), actor=Actor(signed.principal.name, "user", address), now=now
    )
    if done:
        log.info("signed_out", user=signed.principal.name, address=address)
    return done


def _signed(row: SessionRow, session_id: str) -> Signed:
    return Signed(Principal(row.user_name, row.role, "user", row.language), csrf_for(session_id), row.expires_at)
