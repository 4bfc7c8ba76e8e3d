"""``/api/v1/messages``, ``/outbox/{id}`` and ``/threads/{phone}`` (``messages.read``): every
SMS in and out, as ``gateway messages list|show``, ``gateway outbox show`` and ``gateway
thread`` print them with ``--json``. ``POST /messages`` (sending) is :mod:`gateway.web.send`'s."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of
from gateway.web.problems import Problem

router = APIRouter(tags=["messages"])

LIMIT_DEFAULT = 50
LIMIT_MAX = 500
Reader = Annotated[Principal, Depends(need("messages.read"))]
WHERE = "this gateway"  # a not-found error names no file path to an API client


def phone_of(request: Request, text: str, field: str = "phone") -> str:
    """A phone as a person writes it, as the store keeps it (+E.164); else 422 naming ``field``."""
    from gateway.desk.messages import read_phone
    from gateway.exceptions import DeskError

    try:
        return read_phone(request.app.state.config, text)
    except DeskError as exc:
        raise Problem(422, f"{field}: {exc}", field=field) from None


@router.get("/messages")
async def list_messages(
    request: Request,
    who: Reader,
    phone: Annotated[str | None, Query(description="any rendering of the number; made +E.164")] = None,
    direction: Annotated[Literal["in", "out"] | None, Query(description="in: received; out: the outbox")] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT,
) -> dict[str, Any]:
    """The newest ``limit`` SMS in and out, newest first, as ``gateway messages list --json``:
    ``{"messages": [...]}``. Each received SMS (``in-ID``) says how it was routed; each outbox
    row (``out-ID``) its lane and delivery state. ``since``: ISO 8601 (UTC when no offset)."""
    from gateway.desk.messages import newest

    number = phone_of(request, phone) if phone is not None else None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    found = await newest(store_of(request), number, direction, since, limit)
    return {"messages": [m.as_json() for m in found]}


@router.get("/messages/{message_id}")
async def show_message(request: Request, message_id: str, who: Reader) -> dict[str, Any]:
    """``in-ID``: a received SMS, how it was routed and what answered it; ``out-ID``: an outbox
    row as ``GET /outbox/{id}`` shows it (``gateway messages show --json``)."""
    from gateway.desk.messages import message_detail, read_id
    from gateway.exceptions import DeskError

    try:
        read_id(message_id)
    except DeskError as exc:
        raise Problem(422, f"id: {exc}", field="id") from None
    return (await message_detail(store_of(request), message_id, WHERE)).as_json()


@router.get("/outbox/{outbox_id}")
async def show_outbox(request: Request, outbox_id: str, who: Reader) -> dict[str, Any]:
    """An outbox row (``45`` or ``out-45``) as ``gateway outbox show --json``: status, attempts,
    SIM, last error, timestamps, and each part as it went on air with its delivery state."""
    from gateway.config.reader import ascii_digits
    from gateway.desk.messages import outbox_detail

    number = ascii_digits(outbox_id).strip().lower().removeprefix("out-")
    if not (number.isascii() and number.isdigit()):
        raise Problem(422, f"id: {outbox_id!r} is not an outbox id: write 45 or out-45", field="id")
    return (await outbox_detail(store_of(request), int(number), WHERE)).as_json()


@router.get("/threads/{phone}")
async def show_thread(request: Request, phone: str, who: Reader) -> dict[str, Any]:
    """Everything a phone sent and was sent, oldest first, with its tickets and whether it opted
    out of broadcasts (``gateway thread PHONE --json``)."""
    from gateway.desk.threads import thread_of

    return (await thread_of(store_of(request), phone_of(request, phone))).as_json()
