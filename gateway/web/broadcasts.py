"""Routes of /api/v1 for this area: being built (issue 14); mounted by :mod:`gateway.web.app`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["broadcasts"])
