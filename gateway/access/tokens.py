"""API tokens for other systems and scripts (``gateway tokens``; the API's bearer sign-in).

A token has a name, a role (integration, agent, supervisor, admin) and a language; the token
itself is shown once when it is made and stored only as its SHA-256 (:mod:`~gateway.access.hashing`
says why that is enough for a token and not for a password). A revoked token keeps its name:
names are never reused, so each name in the audit log is one token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from gateway.access.hashing import TOKEN_PREFIX, new_token, token_hash
from gateway.access.principal import Principal, check_name
from gateway.access.roles import TOKEN_ROLES
from gateway.access.users import check_language, check_role
from gateway.exceptions import AccessError, NotFound

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import AccessBook, Actor, Store, TokenRow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class NewToken:
    """A token just made: the only moment its secret exists outside the client that holds it."""

    row: TokenRow
    token: str

    def as_json(self) -> dict[str, Any]:
        """``tokens create --json``: exactly name, role, token."""
        return {"name": self.row.name, "role": self.row.role, "token": self.token}


async def create_token(
    config: Config, name: str, *, role: str, language: str | None = None, actor: Actor, now: datetime | None = None
) -> NewToken:
    """Make a token with ``role``; refused if a token ever had the name (in any letter case)."""
    name = check_name(name, "token")
    role = check_role(role, TOKEN_ROLES)
    lang = check_language(config, language)
    token = new_token()
    async with await _open(config, create=True) as store:
        row = await store.add_token(name, role=role, language=lang, token_hash=token_hash(token), actor=actor, now=now)
    if row is None:
        raise AccessError(
            f"there is a token {name!r} already (a revoked token keeps its name): choose another name, e.g. {name}-2"
        )
    return NewToken(row, token)


async def list_tokens(config: Config) -> list[TokenRow]:
    async with await _open(config) as store:
        return await store.tokens()


async def revoke_token(config: Config, name: str, *, actor: Actor, now: datetime | None = None) -> str:
    """Revoke the token: it no longer signs anything in, from the next request on."""
    async with await _open(config) as store:
        done = await store.revoke_token(name, actor=actor, now=now)
        rows = [t for t in await store.tokens() if t.name.casefold() == name.strip().casefold()]
    if done is None or not rows:
        raise NotFound(f"no token {name!r} in {config.database_path}")
    if not done:
        raise AccessError(f"token {rows[0].name} is revoked already: nothing changed")
    return rows[0].name


async def verify_token(store: AccessBook, token: str, now: datetime | None = None) -> Principal | None:
    """The token's principal if it is one we made and it is not revoked; else None. Notes its
    last use at most once a minute: a busy integration's requests mostly only read."""
    from gateway.store.access import LAST_USED_EVERY
    from gateway.store.base import stamp, utcnow

    token = token.strip()
    row = await store.token_by_hash(token_hash(token)) if token.startswith(TOKEN_PREFIX) else None
    if row is None or row.revoked_at is not None:  # never the token itself in the log
        log.info("sign_in_refused", kind="token", token_name=row.name if row else None,
                 reason="revoked" if row else "unknown_token")  # fmt: skip
        return None
    at = now or utcnow()
    if row.last_used_at is None or row.last_used_at <= stamp(at - LAST_USED_EVERY):
        await store.token_used(row.id, now=at)
    return Principal(row.name, row.role, "token", row.language)


async def _open(config: Config, *, create: bool = False) -> Store:
    from gateway.store.configured import open_store

    return await open_store(config, create=create)
