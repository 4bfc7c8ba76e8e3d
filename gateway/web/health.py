"""``GET /health``: is the API up and can it read the database. No sign-in, no customer data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway import __version__
from gateway.web.auth import store_of

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the database answers; 503 ``{"status": "unavailable"}`` when not."""
    from gateway.exceptions import StoreError

    body: dict[str, Any] = {"status": "ok", "version": __version__}
    try:
        await store_of(request).last_event_seq()
    except StoreError:
        return JSONResponse({**body, "status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({**body, "database": "ok"})
