"""``gateway webhooks add|list|remove``, as library functions.

A hook is checked whole before anything is written (an http(s) URL with a host, known event
types, a secret), so bad input writes nothing. It receives the events journalled after it was
added. The secret is stored to sign each event and is never shown again nor logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.exceptions import WebhookError
from gateway.hooks.rules import check_secret, check_url, parse_events

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import Store
    from gateway.store.protocols_hooks import WebhookBook
    from gateway.store.rows_events import WebhookRow


@dataclass(frozen=True)
class Hook:
    """A webhook as ``webhooks list`` shows it: no secret; its backlog and how it last went."""

    row: WebhookRow
    backlog: int

    def as_json(self) -> dict[str, Any]:
        return self.row.as_json(self.backlog)


async def add_webhook(config: Config, url: str, events: str | Sequence[str], secret: str) -> Hook:
    clean = check_url(url)
    types = parse_events(events if isinstance(events, str) else ",".join(events))
    check_secret(secret)
    async with await _open(config) as store:
        book: WebhookBook = store
        return Hook(await book.add_webhook(clean, types, secret), 0)


async def list_webhooks(config: Config) -> list[Hook]:
    async with await _open(config) as store:
        book: WebhookBook = store
        return [Hook(row, backlog) for row, backlog in await book.webhooks()]


async def remove_webhook(config: Config, hook_id: str) -> int:
    try:
        number = int(hook_id.strip().lstrip("#"))
    except ValueError:
        raise WebhookError(f"not a webhook id: {hook_id!r} (gateway webhooks list shows them)") from None
    async with await _open(config) as store:
        book: WebhookBook = store
        if not await book.remove_webhook(number):
            raise WebhookError(f"no webhook #{number} (gateway webhooks list shows them)")
    return number


async def _open(config: Config) -> Store:
    from gateway.store.configured import open_store

    return await open_store(config)
