"""The webhooks' views of the store: the delivery service's queue and ``gateway webhooks``,
beside :mod:`gateway.store.protocols` so that each module stays small."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store import Store
    from gateway.store.rows_access import Actor
    from gateway.store.rows_events import EventRow, WebhookRow

__all__ = ["HookQueue", "WebhookBook"]


class HookQueue(Protocol):
    """What the delivery service reads and writes: each hook's next events and its cursor."""

    async def active_webhooks(self) -> list[WebhookRow]: ...
    async def active_webhook(self, hook_id: int) -> WebhookRow | None: ...
    async def last_event_seq(self) -> int: ...
    async def webhook_events(
        self, hook: WebhookRow, limit: int, *, after: int | None = ..., upto: int | None = ...
    ) -> list[EventRow]: ...
    async def webhook_delivered(self, hook_id: int, seq: int, now: datetime | None = ...) -> None: ...
    async def webhook_failed(
        self, hook_id: int, error: str, retry_at: datetime | None, *, dead: bool, now: datetime | None = ...
    ) -> None: ...


class WebhookBook(Protocol):
    """``gateway webhooks add|list|remove|revive`` and ``/api/v1/webhooks``."""

    async def add_webhook(
        self, url: str, events: Sequence[str], secret: str, *, actor: Actor, now: datetime | None = ...
    ) -> WebhookRow: ...
    async def remove_webhook(self, hook_id: int, *, actor: Actor, now: datetime | None = ...) -> bool: ...
    async def revive_webhook(self, hook_id: int, *, actor: Actor, now: datetime | None = ...) -> WebhookRow | None: ...
    async def webhook(self, hook_id: int) -> tuple[WebhookRow, int] | None: ...
    async def webhooks(self, *, created_by: Actor | None = ...) -> list[tuple[WebhookRow, int]]: ...


if TYPE_CHECKING:  # mypy proves that the store satisfies the views

    def _queue_view(store: Store) -> HookQueue:
        return store

    def _book_view(store: Store) -> WebhookBook:
        return store
