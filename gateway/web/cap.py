"""``POST /api/v1/cap``: another system (the national alert hub, outage management) hands us a
CAP 1.2 alert (``cap.ingest``: integration tokens and admins), taken in as ``gateway cap
ingest`` takes it (:func:`gateway.cap.operations.ingest_document`).

The body is the XML itself (``application/cap+xml``, ``application/xml`` or ``text/xml``), at
most :data:`gateway.cap.rules.MAX_BYTES`. Answers: 201 with what it did (declared, updated,
cancelled); 200 for a dry run (status Test or Exercise) and for a document taken in before
(nothing changed); 422 with the reason when it is refused (nothing changed); 413 when too large.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gateway.access.principal import Principal
from gateway.exceptions import CapRefused
from gateway.web.auth import need, store_of
from gateway.web.problems import Problem

router = APIRouter(tags=["cap"])

TYPES = ("application/cap+xml", "application/xml", "text/xml")


@router.post(
    "/cap",
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {t: {"schema": {"type": "string"}} for t in TYPES}}
    },
    responses={200: {"description": "a dry run (Test, Exercise), or a document taken in before"},
               413: {"description": "a document over the size limit"},
               422: {"description": "refused, with the reason: nothing changed"}},
)  # fmt: skip
async def take_cap(request: Request, who: Annotated[Principal, Depends(need("cap.ingest"))]) -> JSONResponse:
    """Take in a CAP 1.2 alert: an Alert declares an outage for the areas ``[cap] areas`` maps,
    an Update updates the outage its ``<references>`` name, a Cancel cancels it. The answer is
    ``gateway cap ingest --json``: ``outcome`` (declared, updated, cancelled, dry_run, seen),
    ``outage_id``, ``areas``, ``eta``, ``public``, ``notices``, ``message``."""
    from gateway.cap.operations import ingest_document
    from gateway.cap.rules import MAX_BYTES

    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in TYPES:
        raise Problem(415, f"Content-Type is {kind or 'missing'!r}: send the CAP document as one of {', '.join(TYPES)}")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BYTES:
            raise Problem(413, f"the document is over {MAX_BYTES} bytes (a CAP alert is a few kB)")
    try:
        taken = await ingest_document(store_of(request), request.app.state.config, bytes(raw), actor=who.name)
    except CapRefused as exc:
        raise Problem(422, str(exc), field="body") from None
    status = 200 if taken.outcome in ("dry_run", "seen") else 201
    return JSONResponse(taken.as_json(), status_code=status)
