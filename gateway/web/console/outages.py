"""Outages, read only (``outages.read``: everyone at the desk): the outages declared (by people,
CAP alerts or the early warning's operator), newest first -- areas, status, since when, the
estimated restoration, how many reported it and how many were told. Declaring and updating one
is ``gateway outage`` and ``/api/v1/outages`` (docs/outages.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError
from gateway.web.console.pages import Nav, page, render

router = APIRouter()
NAV = (Nav("outages", "/outages", "outages.read", order=25),)
STATUSES = ("active", "restored", "cancelled")
SHOWN = 50


@router.get("/outages")
async def outages(request: Request, who: Annotated[Principal, Depends(page("outages.read"))]) -> Response:
    from gateway.outages import list_outages
    from gateway.web.auth import store_of

    status = request.query_params.get("status", "") or None
    context: dict[str, Any] = {"chosen": status or "", "statuses": STATUSES, "outages": []}
    try:
        listed = await list_outages(store_of(request), request.app.state.config, status, SHOWN)
    except GatewayError as exc:
        return render(request, who, "outages.html", status=422, error=str(exc), **context)
    return render(request, who, "outages.html", **{**context, "outages": listed})
