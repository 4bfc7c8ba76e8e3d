"""Console sessions as the store keeps them (:mod:`gateway.store.sessions`), beside
:mod:`gateway.store.protocols_access` so that each module stays small."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gateway.store.protocols_access import AccessBook

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows_access import Actor
    from gateway.store.sessions import SessionRow

__all__ = ["SessionBook"]


class SessionBook(AccessBook, Protocol):
    """Users (to check a password) and their sessions by the hash of the session id."""

    async def start_session(
        self, id_hash: str, *, user: str, expires_at: datetime, actor: Actor, now: datetime | None = ...
    ) -> SessionRow | None: ...
    async def session(self, id_hash: str) -> SessionRow | None: ...
    async def end_session(self, id_hash: str, *, actor: Actor, now: datetime | None = ...) -> bool: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies the view

    def _store_view(store: Store) -> SessionBook:
        return store
