"""A user's own choice of the console's language (fa, ar, en): the console's Language page."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from gateway.config import LANGUAGES
from gateway.exceptions import AccessError, NotFound

if TYPE_CHECKING:
    from gateway.store.protocols_console import ConsoleBook
    from gateway.store.rows_access import Actor


async def set_language(
    store: ConsoleBook, name: str, language: str, *, actor: Actor, now: datetime | None = None
) -> str:
    """Set ``name``'s console language (audited as ``actor``): the language set."""
    if language not in LANGUAGES:
        raise AccessError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    if not await store.set_user_language(name, language, actor=actor, now=now):
        raise NotFound(f"no user {name!r}")
    return language
