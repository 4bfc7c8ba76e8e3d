"""The CRM link: up or down (and since when), tickets and desk changes queued for the CRM, the
last success, the last error and the next try -- ``gateway sync status`` as a page, re-read
every few seconds. Everyone at the desk may see it: whether tickets reach the CRM is theirs to know."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.access.principal import Principal
from gateway.web.console.pages import Nav, page, render

router = APIRouter()
NAV = (Nav("crm_link", "/crm", "tickets.read", order=60),)
POLL_S = 5


@router.get("/crm")
async def crm_link(request: Request, who: Annotated[Principal, Depends(page("tickets.read"))]) -> Response:
    from gateway.crm.operations import status_of
    from gateway.web.auth import store_of

    status = await status_of(store_of(request), request.app.state.config)
    return render(request, who, "crm.html", sync=status, poll=POLL_S)
