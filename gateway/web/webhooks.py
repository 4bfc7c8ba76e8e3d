"""``/api/v1/webhooks``: receivers of the journal's events, as ``gateway webhooks`` manages them.

An admin (``webhooks.manage``) sees and changes every hook; an integration's token
(``webhooks.manage_own``) only those it added: another's is "no such webhook" to it (404, not
403: it learns nothing of the others). Fields as ``gateway webhooks list --json``; the secret
is taken once and never shown back. Every add, remove and revive is audited as the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.access.principal import Principal
from gateway.access.roles import ACTIONS
from gateway.exceptions import WebhookError
from gateway.store.rows_access import Actor
from gateway.web.auth import address_of, signed_in, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

router = APIRouter(tags=["webhooks"])


class NewWebhook(BaseModel):
    """A receiver: its URL (http or https), the event types it gets, the secret that signs them."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="where each event is POSTed")
    events: list[str] | str = Field(description="event types: a list, or comma-separated")
    secret: str = Field(min_length=1, max_length=500, description="the HMAC key (never shown back)")


class Manager:
    """Who manages webhooks, and whose: ``owner`` None for every hook, else the caller's own."""

    def __init__(self, who: Principal, address: str) -> None:
        self.who = who
        self.actor = who.actor(address)
        self.owner = None if who.may("webhooks.manage") else Actor(who.name, who.kind)


async def manager(request: Request) -> Manager:
    """The signed-in principal if its role manages webhooks (any, or its own); else 401/403."""
    who = await signed_in(request)
    if not (who.may("webhooks.manage") or who.may("webhooks.manage_own")):
        raise Problem(403, f"{who.kind} {who.name} ({who.role}) may not {ACTIONS['webhooks.manage_own']}")
    return Manager(who, address_of(request))


Managing = Annotated[Manager, Depends(manager)]


@router.get("/webhooks")
async def list_hooks(request: Request, m: Managing) -> dict[str, Any]:
    """``{"webhooks": [...]}``: every hook (an integration: those it added), each with its
    backlog, its last success and error, and who added it; never a secret."""
    from gateway.hooks.operations import list_webhooks_in

    return {"webhooks": [h.as_json() for h in await list_webhooks_in(store_of(request), owner=m.owner)]}


@router.post("/webhooks", status_code=201, openapi_extra=documented(NewWebhook))
async def add_hook(
    request: Request, response: Response, m: Managing, body: Annotated[NewWebhook, Depends(json_body(NewWebhook))]
) -> dict[str, Any]:
    """Add a receiver of the events journalled from now on; 201 with the hook (no secret)."""
    from gateway.hooks.operations import add_webhook_in
    from gateway.hooks.rules import check_secret, check_url, parse_events

    events = body.events if isinstance(body.events, str) else ",".join(body.events)
    for field, check in (("url", lambda: check_url(body.url)), ("events", lambda: parse_events(events)),
                         ("secret", lambda: check_secret(body.secret))):  # fmt: skip
        try:
            check()
        except WebhookError as exc:
            raise Problem(422, f"{field}: {exc}", field=field) from None
    hook = await add_webhook_in(store_of(request), body.url, events, body.secret, actor=m.actor)
    response.headers["Location"] = f"{request.url.path}/{hook.row.id}"
    return hook.as_json()


@router.get("/webhooks/{hook_id}")
async def show_hook(request: Request, hook_id: int, m: Managing) -> dict[str, Any]:
    """One hook as ``webhooks list --json`` shows it."""
    from gateway.hooks.operations import show_webhook_in

    return (await show_webhook_in(store_of(request), hook_id, owner=m.owner)).as_json()


@router.delete("/webhooks/{hook_id}", status_code=204)
async def remove_hook(request: Request, hook_id: int, m: Managing) -> Response:
    """Stop sending events to the hook (its backlog is dropped; the events stay journalled)."""
    from gateway.hooks.operations import remove_webhook_in

    await remove_webhook_in(store_of(request), hook_id, actor=m.actor, owner=m.owner)
    return Response(status_code=204)


@router.post("/webhooks/{hook_id}/revive")
async def revive_hook(request: Request, hook_id: int, m: Managing) -> dict[str, Any]:
    """Try a dead (or failing) hook again now, from the first event it has not had."""
    from gateway.hooks.operations import revive_webhook_in

    return (await revive_webhook_in(store_of(request), hook_id, actor=m.actor, owner=m.owner)).as_json()
