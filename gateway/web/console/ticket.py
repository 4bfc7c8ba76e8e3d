"""One ticket: its details, the whole thread with its phone (in and out, with delivery state),
notes and history; and the forms that work it -- reply (with a live part count, the customer's
language, canned replies from the notices), status (optionally notifying the customer), note,
assign. Each form calls the library function the API's route calls; a refusal shows the page
again with the reason and what was typed, nothing lost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.desk.rules import TICKET_STATUSES
from gateway.exceptions import GatewayError, NotFound, TicketChanged
from gateway.web.console.pages import Refused, page, render
from gateway.web.problems import status_of

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import Store, TicketRow

router = APIRouter()
Reader = Annotated[Principal, Depends(page("tickets.read"))]
Writer = Annotated[Principal, Depends(page("tickets.write"))]
Replier = Annotated[Principal, Depends(page("tickets.reply"))]


def canned_replies(config: Config, ticket: TicketRow) -> dict[str, str]:
    """Each notice in the ticket's language, its ``ref`` and ``account`` filled in from the
    ticket and any other variable left as ``{name}`` for the agent to write."""
    from gateway.broadcast.templates import notices
    from gateway.conversation.text import localise_digits

    own = {"ref": ticket.ref, "account": ticket.account or ""}
    out = {}
    for name, notice in sorted(notices(config).items()):
        text = notice.texts.get(ticket.language)
        if text is None:
            continue
        for key, value in own.items():
            text = text.replace("{" + key + "}", localise_digits(value, ticket.language))
        out[name] = text
    return out


async def _ticket(request: Request, who: Principal, ref: str) -> TicketRow:
    from gateway.desk.casework import find
    from gateway.web.auth import store_of

    try:
        return await find(store_of(request), ref, "this gateway")
    except NotFound as exc:
        raise Refused(404, "not_found", str(exc), who) from None


async def show(
    request: Request, who: Principal, ticket: TicketRow, *, status: int = 200, error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    """The ticket page; after a refusal, with ``error`` and the fields as ``typed``."""
    from gateway.desk.casework import case_of
    from gateway.desk.threads import thread_of
    from gateway.web.auth import store_of

    store: Store = store_of(request)
    config: Config = request.app.state.config
    case = await case_of(store, ticket)
    thread = await thread_of(store, ticket.phone)
    canned = canned_replies(config, ticket)
    typed = dict(typed or {})
    if "text" not in typed and request.query_params.get("canned") in canned:
        typed["text"] = canned[request.query_params["canned"]]
    context: dict[str, Any] = {
        "ticket": ticket, "case": case, "thread": [m.as_json() for m in thread.messages], "canned": canned,
        "statuses": TICKET_STATUSES, "max_parts": config.conversation.reply_max_parts, "error": error,
        "typed": typed, "version": case.version, "outbox_id": request.query_params.get("id", ""),
    }  # fmt: skip
    return render(request, who, "ticket.html", status=status, **context)


@router.get("/tickets/{ref}")
async def ticket_page(request: Request, ref: str, who: Reader) -> Response:
    return await show(request, who, await _ticket(request, who, ref))


async def _form(request: Request) -> dict[str, str]:
    from gateway.web.sessions import form_of

    return await form_of(request) or {}


def _done(ticket: TicketRow, done: str, anchor: str, **extra: str) -> RedirectResponse:
    more = "".join(f"&{k}={quote(v)}" for k, v in extra.items())
    return RedirectResponse(f"/tickets/{quote(ticket.ref)}?done={done}{more}#{anchor}", status_code=303)


async def _refused(request: Request, who: Principal, ref: str, exc: GatewayError, typed: dict[str, str]) -> Response:
    """The page again (the ticket as it is now), the library's words and what was typed."""
    if isinstance(exc, NotFound):
        raise Refused(404, "not_found", str(exc), who)
    words = "changed_meanwhile" if isinstance(exc, TicketChanged) else None
    ticket = await _ticket(request, who, ref)
    return await show(request, who, ticket, status=status_of(exc), error=words or str(exc), typed=typed)


async def _unchanged(request: Request, ticket: TicketRow, form: dict[str, str]) -> None:
    """A form carries the ticket's version as the agent saw it: refuse if anyone changed it since."""
    from gateway.desk.casework import check_version
    from gateway.web.auth import store_of

    if form.get("version"):
        await check_version(store_of(request), ticket, [form["version"]])


@router.post("/tickets/{ref}/reply")
async def reply(request: Request, ref: str, who: Replier) -> Response:
    from gateway.desk.replies import compose_reply
    from gateway.web.auth import store_of

    form = await _form(request)
    ticket = await _ticket(request, who, ref)
    try:
        done = await compose_reply(
            store_of(request), request.app.state.config, ticket, form.get("text", ""), actor=who.name,
            force=form.get("force") == "on",
        )  # fmt: skip
    except GatewayError as exc:
        return await _refused(request, who, ref, exc, {"text": form.get("text", "")})
    return _done(ticket, "reply_sent", "thread", id=str(done.entry.outbox_id))


@router.post("/tickets/{ref}/status")
async def change_status(request: Request, ref: str, who: Writer) -> Response:
    from gateway.desk.casework import update
    from gateway.web.auth import store_of

    form = await _form(request)
    ticket = await _ticket(request, who, ref)
    note = form.get("note", "").strip() or None
    try:
        await _unchanged(request, ticket, form)
        await update(
            store_of(request), request.app.state.config, ticket, actor=who.name, status=form.get("status", ""),
            note=note, notify=form.get("notify") == "on",
        )  # fmt: skip
    except GatewayError as exc:
        return await _refused(request, who, ref, exc, {"status_note": form.get("note", "")})
    return _done(ticket, "status_saved", "status")


@router.post("/tickets/{ref}/note")
async def add_note(request: Request, ref: str, who: Writer) -> Response:
    from gateway.desk.casework import note_on
    from gateway.web.auth import store_of

    form = await _form(request)
    ticket = await _ticket(request, who, ref)
    try:
        await note_on(store_of(request), ticket, form.get("text", ""), actor=who.name)
    except GatewayError as exc:
        return await _refused(request, who, ref, exc, {"note": form.get("text", "")})
    return _done(ticket, "note_added", "notes")


@router.post("/tickets/{ref}/assign")
async def assign(request: Request, ref: str, who: Writer) -> Response:
    from gateway.desk.casework import update
    from gateway.web.auth import store_of

    form = await _form(request)
    ticket = await _ticket(request, who, ref)
    name = form.get("assigned_to", "").strip() or None
    try:
        await _unchanged(request, ticket, form)
        await update(store_of(request), request.app.state.config, ticket, actor=who.name, assign=True, assigned_to=name)
    except GatewayError as exc:
        return await _refused(request, who, ref, exc, {"assigned_to": form.get("assigned_to", "")})
    return _done(ticket, "assigned", "assign")
