"""``GET /api/v1/sims`` (``sims.read``): each SIM as the daemon last published it in the
database, as ``gateway modems --json`` prints it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of

router = APIRouter(tags=["sims"])


@router.get("/sims")
async def list_sims(request: Request, who: Annotated[Principal, Depends(need("sims.read"))]) -> dict[str, Any]:
    """``{"sims": [...]}``: each SIM's state (and why), signal, operator, SMS sent today of its
    ``per_day`` quota, messages ``queued`` for it, storage, balance, last error, when the daemon
    published it (``updated_at``) and ``stale`` when that is over a minute ago (no daemon
    publishing: the figures are from when one last ran). Empty before a daemon ever ran."""
    from gateway.sims.operations import statuses_of

    return {"sims": await statuses_of(store_of(request))}
