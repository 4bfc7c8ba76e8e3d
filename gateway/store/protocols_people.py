"""The desk's view of the people in the store (``gateway optouts``, ``contacts remove``,
``groups drop|remove``), beside :mod:`gateway.store.protocols` so that each module stays small."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows import CustomerRow

__all__ = ["PeopleBook"]


class PeopleBook(Protocol):
    """Opt-outs set by hand (as STOP and START set them), and contacts, groups and members removed."""

    async def opt_outs(self, limit: int = ...) -> list[CustomerRow]: ...
    async def opt_out(
        self, phone: str, *, reason: str, actor: str, now: datetime | None = ...
    ) -> tuple[CustomerRow, int] | None: ...
    async def opt_in(self, phone: str, *, actor: str, now: datetime | None = ...) -> bool: ...
    async def remove_contact(self, phone: str, *, actor: str) -> list[str] | None: ...
    async def drop_group(self, name: str, *, actor: str) -> int: ...
    async def remove_member(self, name: str, phone: str, *, actor: str) -> bool | None: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies the view

    def _store_view(store: Store) -> PeopleBook:
        return store
