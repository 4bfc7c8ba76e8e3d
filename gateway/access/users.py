"""People who sign in (``gateway users``; the API's password sign-in).

A user has a role (agent, supervisor, admin), a language (the console's, default
``[site] language``) and a password, kept as an argon2id hash. Users are disabled, never
deleted, so that the audit log's names keep meaning someone. Every change is written with
its audit entry in one transaction; bad input is an :class:`~gateway.exceptions.AccessError`
and nothing is written.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from gateway.access.hashing import check_password, hash_password, password_matches, spend_a_verify
from gateway.access.principal import Principal, check_name
from gateway.access.roles import USER_ROLES
from gateway.exceptions import AccessError, NotFound

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import AccessBook, Actor, Store, UserRow

log = structlog.get_logger(__name__)


def check_role(role: str, roles: tuple[str, ...] = USER_ROLES) -> str:
    if role not in roles:
        raise AccessError(f"unknown role {role!r}: use one of {', '.join(roles)}")
    return role


def check_language(config: Config, language: str | None) -> str:
    from gateway.config import LANGUAGES

    chosen = language or config.site.language
    if chosen not in LANGUAGES:
        raise AccessError(f"unknown language {chosen!r}: use one of {', '.join(LANGUAGES)}")
    return chosen


async def add_user(
    config: Config,
    name: str,
    *,
    role: str,
    password: str,
    language: str | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> UserRow:
    """Add a user who signs in with ``password``; refused if the name is taken (in any letter case)."""
    name = check_name(name)
    role = check_role(role)
    lang = check_language(config, language)
    hashed = await asyncio.to_thread(hash_password, check_password(password))
    async with await _open(config, create=True) as store:
        user = await store.add_user(name, role=role, language=lang, password_hash=hashed, actor=actor, now=now)
        if user is None:
            raise AccessError(f"there is a user {name!r} already (names are one in any letter case): nothing changed")
        return user


async def list_users(config: Config) -> list[UserRow]:
    async with await _open(config) as store:
        return await store.users()


async def disable_user(config: Config, name: str, *, actor: Actor, now: datetime | None = None) -> str:
    """Disable the user: they can no longer sign in. Their name and their audit entries stay."""
    async with await _open(config) as store:
        done = await store.disable_user(name, actor=actor, now=now)
        if done is None:
            raise NotFound(f"no user {name!r} in {config.database_path}")
        user = await store.user(name)
    assert user is not None
    if not done:
        raise AccessError(f"user {user.name} is disabled already: nothing changed")
    return user.name


async def enable_user(config: Config, name: str, *, actor: Actor, now: datetime | None = None) -> str:
    """Let a disabled user sign in again (with the password they had; their old sessions stay ended)."""
    async with await _open(config) as store:
        done = await store.enable_user(name, actor=actor, now=now)
        if done is None:
            raise NotFound(f"no user {name!r} in {config.database_path}")
        user = await store.user(name)
    assert user is not None
    if not done:
        raise AccessError(f"user {user.name} is not disabled: nothing changed")
    return user.name


async def change_password(
    config: Config, name: str, password: str, *, actor: Actor, now: datetime | None = None
) -> str:
    """Set the user's password (which ends all their sessions): the name as stored."""
    async with await _open(config) as store:
        stored = await set_password(store, name, password, actor=actor, now=now)
    if stored is None:
        raise NotFound(f"no user {name!r} in {config.database_path}")
    return stored


async def set_password(
    store: AccessBook,
    name: str,
    password: str,
    *,
    actor: Actor,
    keep_session: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """:func:`change_password` on an open store; it ends the user's sessions but the one whose
    hash is ``keep_session`` (the session that asked). The name as stored, or None if no such user."""
    hashed = await asyncio.to_thread(hash_password, check_password(password))
    return await store.set_password(name, hashed, actor=actor, keep_session=keep_session, now=now)


async def verify_password(store: AccessBook, name: str, password: str) -> Principal | None:
    """The user ``name`` if ``password`` is theirs and they are not disabled; else None.

    An unknown or disabled user still costs one argon2 verification, so the time taken does
    not tell which names exist. The hashing runs in a thread: it takes about 0.1 s of CPU,
    which must not stall the API's event loop."""
    user = await store.user(name.strip()) if name.strip() else None
    if user is None or user.disabled_at is not None:
        await asyncio.to_thread(spend_a_verify, password)
        # an unknown name is not logged: people type their password into the name field
        log.info("sign_in_refused", user=user.name if user else None, reason="disabled" if user else "unknown_user")
        return None
    if not await asyncio.to_thread(password_matches, user.password_hash, password):
        log.info("sign_in_refused", user=user.name, reason="wrong_password")
        return None
    return Principal(user.name, user.role, "user", user.language)


async def _open(config: Config, *, create: bool = False) -> Store:
    from gateway.store.configured import open_store

    return await open_store(config, create=create)
