"""The audit log (supervisors and admins, ``audit.read``): who changed what, when and from
where, newest first; filtered by who and since when (``gateway audit list`` as a page)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.access.principal import Principal
from gateway.web.console.pages import Nav, page, render

router = APIRouter()
NAV = (Nav("audit", "/audit", "audit.read", order=70),)
LIMITS = (100, 500, 1000)


def detail_text(detail: object) -> str:
    if detail in (None, {}, ""):
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True)


@router.get("/audit")
async def audit(request: Request, who: Annotated[Principal, Depends(page("audit.read"))]) -> Response:
    from gateway.access.audit import audit_entries
    from gateway.web.auth import store_of
    from gateway.web.console.inbox import since_of

    query = request.query_params
    typed = {"actor": query.get("actor", "").strip(), "since": query.get("since", "").strip()}
    limit = int(query["limit"]) if query.get("limit", "").isdigit() and int(query["limit"]) in LIMITS else LIMITS[0]
    context: dict[str, Any] = {"typed": typed, "limit": limit, "limits": LIMITS, "detail_text": detail_text}
    context["entries"] = []
    try:
        since = since_of(typed["since"], request.app.state.config.site.timezone)
    except ValueError as exc:
        return render(request, who, "audit.html", status=422, error=str(exc), **context)
    rows = await audit_entries(store_of(request), since=since, actor=typed["actor"] or None, limit=limit)
    context["entries"] = [r.as_json() for r in rows]
    return render(request, who, "audit.html", **context)
