"""Reading the audit log (``gateway audit list``; the API's ``audit.read``).

Entries are written by the writes themselves, each in its own transaction
(:func:`gateway.store.audit.record`): a user or token added, disabled, revoked, a password
changed, and the desk's changes (tickets, opt-outs, contacts, groups) made at the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import AccessBook, AuditRow

AUDIT_LIMIT = 100  # entries `gateway audit list` shows by default, newest first


async def list_audit(
    config: Config, *, since: datetime | None = None, actor: str | None = None, limit: int = AUDIT_LIMIT
) -> list[AuditRow]:
    """The newest ``limit`` entries, at or after ``since``, by ``actor`` (exactly as recorded)."""
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await audit_entries(store, since=since, actor=actor, limit=limit)


async def audit_entries(
    store: AccessBook, *, since: datetime | None = None, actor: str | None = None, limit: int = AUDIT_LIMIT
) -> list[AuditRow]:
    """:func:`list_audit` on an open store (the API's, open for the process)."""
    return await store.audit_entries(since=since, actor=actor.strip() if actor else None, limit=limit)
