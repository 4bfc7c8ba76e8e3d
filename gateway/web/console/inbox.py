"""The inbox: tickets newest first under the filters a person chose (the API's list,
``GET /api/v1/tickets``), counts per status, a page of older ones; new tickets come in live
(static/console.js re-reads this page when the event stream says one opened)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.access.principal import Principal
from gateway.desk.rules import TICKET_STATUSES
from gateway.exceptions import GatewayError
from gateway.web.console.pages import Nav, page, render
from gateway.web.problems import Problem

router = APIRouter()
NAV = (Nav("inbox", "/inbox", "tickets.read", order=10),)
PAGE = 50  # tickets a page
FIRST_WORDS = 60  # characters of the customer's text a row shows
FILTERS = ("status", "category", "area", "since", "mine", "search")


@dataclass(frozen=True)
class Choices:
    """The filters as the form sent them (kept as typed, shown back in the form)."""

    values: dict[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def query(self, **changes: str) -> str:
        """This page's query string with ``changes`` (empty: left out)."""
        from urllib.parse import urlencode

        merged = {**self.values, **changes}
        return urlencode({k: v for k, v in merged.items() if v})


def first_words(text: str, limit: int = FIRST_WORDS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def since_of(value: str, timezone: str) -> datetime | None:
    """A date (``2026-12-01``: from its start, site time) or an ISO 8601 time; digits of any script."""
    from gateway.config.reader import ascii_digits

    value = ascii_digits(value.strip())
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(), ZoneInfo(timezone))
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"since: {value!r} is not a date (2026-12-01) or a time (2026-12-01T08:00)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(timezone))


@router.get("/inbox")
async def inbox(request: Request, who: Annotated[Principal, Depends(page("tickets.read"))]) -> Response:
    from dataclasses import replace

    from gateway.desk.operations import ticket_filter
    from gateway.web.auth import store_of
    from gateway.web.tickets import decode_cursor, encode_cursor

    query = request.query_params
    choices = Choices({k: query.get(k, "") for k in FILTERS if query.get(k)})
    config = request.app.state.config
    context: dict[str, Any] = {"choices": choices, "statuses": TICKET_STATUSES, "tickets": [], "counts": {}}
    status = choices.get("status") or None
    try:
        if status is not None and status not in TICKET_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(TICKET_STATUSES)}")
        where = ticket_filter(
            config, status=status, category=choices.get("category") or None, area=choices.get("area") or None,
            since=since_of(choices.get("since"), config.site.timezone), search=choices.get("search") or None,
            assigned=who.name if choices.get("mine") else None,
        )  # fmt: skip
        if query.get("cursor"):
            where = replace(where, before=decode_cursor(query["cursor"]))
    except (ValueError, GatewayError, Problem) as exc:  # named, and the filters kept in the form
        return render(request, who, "inbox.html", status=422, error=str(exc), **context)
    store = store_of(request)
    rows = await store.find_tickets(where, limit=PAGE + 1)
    page_rows, more = rows[:PAGE], len(rows) > PAGE
    older = choices.query(cursor=encode_cursor(page_rows[-1].received_at, page_rows[-1].seq)) if more else None
    context.update(tickets=page_rows, counts=await store.ticket_counts(where), older=older, first_words=first_words)
    return render(request, who, "inbox.html", **context)
