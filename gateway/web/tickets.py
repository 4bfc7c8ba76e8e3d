"""``/api/v1/tickets``: find tickets and read one (``tickets.read``), with the filters and
fields of ``gateway tickets list|show --json``; change one (``tickets.write``: status, note,
assignee), and text its customer by hand (``tickets.reply``), as ``gateway tickets
status|note|assign|reply`` do -- each write audited as the token or user from its address."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.access.principal import Principal
from gateway.desk.rules import TICKET_STATUSES
from gateway.web.app import API
from gateway.web.auth import need, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

if TYPE_CHECKING:
    from gateway.store import CaseDesk, TicketRow

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
async def show_ticket(request: Request, response: Response, ref: str, who: Reader) -> dict[str, Any]:
    """One ticket as ``gateway tickets show --json``: its fields, notes, history and thread.
    Its ``ETag`` may be sent back as ``If-Match`` to change it only if no one has since."""
    from gateway.desk.casework import case_of, find

    store = store_of(request)
    ticket = await find(store, ref, "this gateway")
    case = await case_of(store, ticket)
    response.headers["ETag"] = f'"{case.version}"'
    return case.as_json()


# --- case work: PATCH a ticket, reply to its customer, add a note ---------------------------

Writer = Annotated[Principal, Depends(need("tickets.write"))]
Replier = Annotated[Principal, Depends(need("tickets.reply"))]
# how a library error names a request's fields, in this API's words
NAMES = {"force": 'send "force": true if the customer should get every part', "var": "vars"}


class TicketChange(BaseModel):
    """``PATCH /tickets/{ref}``: any of these; ``note`` alone adds a note, with ``status`` it is
    kept with the change; ``assigned_to`` null assigns the ticket to nobody."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal["open", "in_progress", "resolved", "closed"] | None = None
    note: str | None = None
    assigned_to: str | None = None
    notify: bool = False


class ReplyRequest(BaseModel):
    """``POST /tickets/{ref}/replies``: ``text``, or ``template`` with ``vars`` (the notice's values)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str | None = None
    template: str | None = None
    vars: dict[str, str] = Field(default_factory=dict)
    force: bool = False


class NoteRequest(BaseModel):
    """``POST /tickets/{ref}/notes``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str


@contextmanager
def refused_as(field: str) -> Iterator[None]:
    """A refusal of the library (a DeskError, a NoticeError, ...) as a 422 naming ``field``;
    not found, changed meanwhile and the database's troubles keep their own answers."""
    from gateway.exceptions import GatewayError, NotFound, StoreError, TicketChanged

    try:
        yield
    except (NotFound, TicketChanged, StoreError):
        raise
    except GatewayError as exc:
        raise Problem(422, f"{field}: {exc.wording.naming(NAMES)}", field=field) from None


async def unchanged_since_read(request: Request, store: CaseDesk, ticket: TicketRow) -> None:
    """With ``If-Match: "ETAG"`` (from ``GET /tickets/{ref}``), refuse (409) a write to a
    ticket someone changed since; ``*`` or no header: write whatever the ticket is now."""
    from gateway.desk.casework import check_version

    header = request.headers.get("if-match")
    tags = [t.strip() for t in (header or "").split(",") if t.strip()]
    if header is None or "*" in tags:
        return
    # strong comparison (RFC 9110): a weak tag never matches
    await check_version(store, ticket, [t[1:-1] for t in tags if len(t) > 1 and t[0] == t[-1] == '"'])


@router.patch("/tickets/{ref}", openapi_extra=documented(TicketChange))
async def change_ticket(
    request: Request,
    response: Response,
    ref: str,
    who: Writer,
    body: Annotated[TicketChange, Depends(json_body(TicketChange))],
) -> dict[str, Any]:
    """Change a ticket: ``status`` (with ``note``, and ``notify`` to text the customer that
    status's words in their language), a ``note`` alone, ``assigned_to``. 200 with the ticket as
    ``GET`` shows it; 409 when it is already so, or changed meanwhile -- since the client read it,
    when it sends the ``ETag`` it read as ``If-Match``."""
    from gateway.desk.casework import case_of, find, update
    from gateway.desk.rules import check_name, check_note

    given = body.model_fields_set
    if body.notify and body.status is None:
        raise Problem(422, "notify: texts the customer a new status's words: give status too", field="notify")
    if body.status is None and body.note is None and "assigned_to" not in given:
        raise Problem(422, "body: give any of status, note, assigned_to", field="body")
    with refused_as("note"):
        note = check_note(body.note) if body.note is not None else None
    with refused_as("assigned_to"):
        assignee = check_name(body.assigned_to, "assignee") if body.assigned_to is not None else None
    store = store_of(request)
    ticket = await find(store, ref, "this gateway")
    await unchanged_since_read(request, store, ticket)
    if body.status == ticket.status:
        raise Problem(409, f"status: ticket {ticket.ref} is already {ticket.status}: nothing changed", field="status")
    if "assigned_to" in given and assignee == ticket.assigned_to:
        now = assignee or "nobody"
        raise Problem(409, f"assigned_to: ticket {ticket.ref} is already assigned to {now}", field="assigned_to")
    with refused_as("status" if body.notify else "body"):
        changes = await update(
            store, request.app.state.config, ticket, actor=who.name, status=body.status, note=note,
            notify=body.notify, assign="assigned_to" in given, assigned_to=assignee,
        )  # fmt: skip
    case = await case_of(store, changes[-1].ticket)
    response.headers["ETag"] = f'"{case.version}"'
    return case.as_json()


@router.post("/tickets/{ref}/replies", status_code=201, openapi_extra=documented(ReplyRequest))
async def reply(
    request: Request,
    response: Response,
    ref: str,
    who: Replier,
    body: Annotated[ReplyRequest, Depends(json_body(ReplyRequest))],
) -> dict[str, Any]:
    """Text the ticket's customer, as ``gateway tickets reply --json``: in the reply lane, from
    the SIM they texted while it is healthy; refused over ``reply_max_parts`` parts unless
    ``force``. 201 with the history entry, the outbox id, language, parts, encoding and SIM."""
    from gateway.broadcast.templates import notice, notices
    from gateway.desk.casework import find
    from gateway.desk.replies import check_text, compose_reply

    config = request.app.state.config
    if (body.text is None) == (body.template is None):
        raise Problem(422, "text: give the reply's text, or a template (one of the two)", field="text")
    if body.vars and body.template is None:
        raise Problem(422, "vars: fill a template; a text is sent as written", field="vars")
    if body.text is not None:
        with refused_as("text"):
            check_text(body.text)
    if body.template is not None:
        with refused_as("template"):
            notice(notices(config), body.template)
    store = store_of(request)
    ticket = await find(store, ref, "this gateway")
    await unchanged_since_read(request, store, ticket)
    with refused_as("text" if body.text is not None else "vars"):
        done = await compose_reply(
            store, config, ticket, body.text, template=body.template, values=body.vars, actor=who.name,
            force=body.force,
        )  # fmt: skip
    response.headers["Location"] = f"{API}/outbox/{done.entry.outbox_id}"
    return done.as_json()


@router.post("/tickets/{ref}/notes", status_code=201, openapi_extra=documented(NoteRequest))
async def add_note(
    request: Request, ref: str, who: Writer, body: Annotated[NoteRequest, Depends(json_body(NoteRequest))]
) -> dict[str, Any]:
    """Add a note (at most 1000 characters) for the next agent. 201 with the history entry,
    as ``gateway tickets note --json``."""
    from gateway.desk.casework import find, note_on

    store = store_of(request)
    ticket = await find(store, ref, "this gateway")
    await unchanged_since_read(request, store, ticket)
    with refused_as("text"):
        change = await note_on(store, ticket, body.text, actor=who.name)
    return {"ref": ticket.ref, **change.entry.as_json(), "notice": None}
