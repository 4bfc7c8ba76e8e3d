"""``GET /api/v1/audit``: the audit log (``audit.read``: supervisors and admins), as ``gateway audit list --json``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of

router = APIRouter(tags=["audit"])

LIMIT_MAX = 1000


@router.get("/audit")
async def list_audit(
    request: Request,
    who: Annotated[Principal, Depends(need("audit.read"))],
    since: Annotated[datetime | None, Query(description="ISO 8601; UTC when it carries no offset")] = None,
    actor: Annotated[str | None, Query(description="a user, token or local account, as recorded")] = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 100,
) -> list[dict[str, Any]]:
    """The newest entries first: who (``actor``, ``actor_kind``), what (``action``, ``target``,
    ``detail``), when (``at``) and from which ``address``."""
    from gateway.access.audit import audit_entries

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = await audit_entries(store_of(request), since=since, actor=actor, limit=limit)
    return [row.as_json() for row in rows]
