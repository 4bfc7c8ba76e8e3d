"""``/api/v1/tickets``: find tickets and read one (``tickets.read``), with the filters and
fields of ``gateway tickets list|show --json``."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from gateway.access.principal import Principal
from gateway.desk.rules import TICKET_STATUSES
from gateway.web.auth import need, store_of
from gateway.web.problems import Problem

router = APIRouter(tags=["tickets"])

LIMIT_DEFAULT = 50
LIMIT_MAX = 500
Reader = Annotated[Principal, Depends(need("tickets.read"))]


def encode_cursor(received_at: str, seq: int) -> str:
    """The opaque cursor of the page after the ticket (received_at, seq)."""
    return base64.urlsafe_b64encode(f"{received_at}|{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        received_at, _, seq = raw.rpartition("|")
        return received_at, int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(422, "cursor: not a cursor this API gave (use next_cursor as it came)", field="cursor") from None


@router.get("/tickets")
async def list_tickets(
    request: Request,
    who: Reader,
    status: Annotated[str | None, Query(description="open | in_progress | resolved | closed")] = None,
    category: str | None = None,
    phone: Annotated[str | None, Query(description="any rendering of the number; made +E.164")] = None,
    account: str | None = None,
    area: str | None = None,
    assigned: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The newest tickets first, ``limit`` at a time: ``{"tickets": [...], "next_cursor": ...}``;
    pass ``next_cursor`` back as ``cursor`` for the next page (null: no more). ``since`` and
    ``until`` are ISO 8601 times (UTC when they carry no offset)."""
    from dataclasses import replace

    from gateway.desk.operations import ticket_filter

    if status is not None and status not in TICKET_STATUSES:
        raise Problem(422, f"status: {status!r} is not one of {', '.join(TICKET_STATUSES)}", field="status")
    config = request.app.state.config
    since, until = (t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in (since, until))
    where = ticket_filter(
        config, status=status, category=category, phone=phone, account=account, area=area,
        since=since, until=until, assigned=assigned, search=search,
    )  # fmt: skip
    if cursor is not None:
        where = replace(where, before=decode_cursor(cursor))
    rows = await store_of(request).find_tickets(where, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].received_at, page[-1].seq) if more else None
    return {"tickets": [{**t.as_json(), "assigned_to": t.assigned_to} for t in page], "next_cursor": next_cursor}


@router.get("/tickets/{ref}")
async def show_ticket(request: Request, ref: str, who: Reader) -> dict[str, Any]:
    """One ticket as ``gateway tickets show --json``: its fields, notes, history and thread."""
    from gateway.desk.casework import case_of, find

    store = store_of(request)
    ticket = await find(store, ref, "this gateway")
    return (await case_of(store, ticket)).as_json()
