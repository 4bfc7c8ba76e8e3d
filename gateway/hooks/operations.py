"""``gateway webhooks add|list|remove|revive`` and ``/api/v1/webhooks``, as library functions.

A hook is checked whole before anything is written (an http(s) URL with a host, known event
types, a secret), so bad input writes nothing. It receives the events journalled after it was
added. The secret is stored to sign each event and is never shown again nor logged. Each hook
keeps who added it; every add, remove and revive is in the audit log. ``owner`` narrows what a
caller may see and touch to the hooks it added itself (an integration's token, through the API):
another's hook is "no such webhook" to it, not "forbidden".

The store-taking functions (``*_in``) are what the API calls on its one long-lived store; the
config-taking ones open the database for the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.exceptions import NotFound, WebhookError
from gateway.hooks.rules import check_secret, check_url, parse_events

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import Store
    from gateway.store.protocols_hooks import WebhookBook
    from gateway.store.rows_access import Actor
    from gateway.store.rows_events import WebhookRow

LIST_HINT = " (gateway webhooks list shows them)"


@dataclass(frozen=True)
class Hook:
    """A webhook as ``webhooks list`` shows it: no secret; its backlog and how it last went."""

    row: WebhookRow
    backlog: int

    def as_json(self) -> dict[str, Any]:
        return self.row.as_json(self.backlog)


def hook_number(hook_id: str | int) -> int:
    """``2``, ``"2"`` or ``"#2"`` as a hook's number; else one clear error."""
    if isinstance(hook_id, int):
        return hook_id
    try:
        return int(hook_id.strip().lstrip("#"))
    except ValueError:
        raise WebhookError(f"not a webhook id: {hook_id!r} (gateway webhooks list shows them)") from None


async def add_webhook_in(
    book: WebhookBook, url: str, events: str | Sequence[str], secret: str, *, actor: Actor
) -> Hook:
    clean = check_url(url)
    types = parse_events(events if isinstance(events, str) else ",".join(events))
    check_secret(secret)
    return Hook(await book.add_webhook(clean, types, secret, actor=actor), 0)


async def list_webhooks_in(book: WebhookBook, *, owner: Actor | None = None) -> list[Hook]:
    """Every hook, or only those ``owner`` added."""
    return [Hook(row, backlog) for row, backlog in await book.webhooks(created_by=owner)]


async def show_webhook_in(book: WebhookBook, hook_id: str | int, *, owner: Actor | None = None) -> Hook:
    """One hook; :class:`NotFound` when there is none (or ``owner`` did not add it)."""
    number = hook_number(hook_id)
    found = await book.webhook(number)
    if found is None or (owner is not None and not found[0].owned_by(owner.name, owner.kind)):
        raise NotFound(f"no webhook #{number}")
    return Hook(*found)


async def remove_webhook_in(book: WebhookBook, hook_id: str | int, *, actor: Actor, owner: Actor | None = None) -> int:
    """Remove a hook (``owner``: only one it added); its number. :class:`NotFound` if none."""
    number = (await show_webhook_in(book, hook_id, owner=owner)).row.id
    if not await book.remove_webhook(number, actor=actor):
        raise NotFound(f"no webhook #{number}")
    return number


async def revive_webhook_in(book: WebhookBook, hook_id: str | int, *, actor: Actor, owner: Actor | None = None) -> Hook:
    """A dead (or failing) hook tried again at once from where it stopped: the events still
    journalled since its last delivery, in order (those purged meanwhile are gone)."""
    number = (await show_webhook_in(book, hook_id, owner=owner)).row.id
    if await book.revive_webhook(number, actor=actor) is None:
        raise NotFound(f"no webhook #{number}")
    return await show_webhook_in(book, number)


async def add_webhook(config: Config, url: str, events: str | Sequence[str], secret: str, *, actor: Actor) -> Hook:
    async with await _open(config) as store:
        return await add_webhook_in(store, url, events, secret, actor=actor)


async def list_webhooks(config: Config) -> list[Hook]:
    async with await _open(config) as store:
        return await list_webhooks_in(store)


async def remove_webhook(config: Config, hook_id: str, *, actor: Actor) -> int:
    async with await _open(config) as store:
        try:
            return await remove_webhook_in(store, hook_id, actor=actor)
        except NotFound as exc:
            raise WebhookError(f"{exc}{LIST_HINT}") from None


async def revive_webhook(config: Config, hook_id: str, *, actor: Actor) -> Hook:
    async with await _open(config) as store:
        try:
            return await revive_webhook_in(store, hook_id, actor=actor)
        except NotFound as exc:
            raise WebhookError(f"{exc}{LIST_HINT}") from None


async def _open(config: Config) -> Store:
    from gateway.store.configured import open_store

    return await open_store(config)
