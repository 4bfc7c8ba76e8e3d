"""``/api/v1/outages``: outages as ``gateway outage list|show --json`` shows them
(``outages.read``: agents and up); declare, update, restore and cancel one with the CLI's
choices (``outages.manage``: supervisors and admins), each audited as who asked. A
``dry_run`` answers the notices' plans and changes nothing. docs/outages.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

router = APIRouter(tags=["outages"])

API = "/api/v1"
Reader = Annotated[Principal, Depends(need("outages.read"))]
Manager = Annotated[Principal, Depends(need("outages.manage"))]
ETA = 'the estimated restoration: "18:00" (the next 18:00 local), "2026-12-03 09:00" (local) or ISO 8601'


class NewOutage(BaseModel):
    """``POST /outages``: ``gateway outage declare``'s choices."""

    model_config = ConfigDict(extra="forbid")

    areas: list[str] = Field(min_length=1, description="the areas out (contacts' area, or [areas] names)")
    cause: str | None = Field(default=None, max_length=500)
    eta: str | None = Field(default=None, description=ETA)
    notify: bool = Field(default=False, description="send the outage notice to the areas' contacts")
    dry_run: bool = Field(default=False, description="true: answer the plan, change nothing")


class OutageUpdate(BaseModel):
    """``POST /outages/{id}/update``: a staged update."""

    model_config = ConfigDict(extra="forbid")

    eta: str | None = Field(default=None, description=ETA)
    note: str | None = Field(default=None, max_length=500)
    notify: bool = Field(default=False, description="send the update notice to the contacts and every reporter")
    dry_run: bool = False


class OutageEnd(BaseModel):
    """``POST /outages/{id}/restore`` and ``/cancel``."""

    model_config = ConfigDict(extra="forbid")

    check: bool = Field(default=False, description='restore: add "reply 1 if you still have no service"')
    notify: bool | None = Field(default=None, description="send the restored notice (restore: true, cancel: false)")
    note: str | None = Field(default=None, max_length=500)
    dry_run: bool = False


def _eta(text: str | None) -> str | datetime | None:
    """An ISO 8601 time with its offset is that moment; anything else is read as the CLI reads it."""
    if text is None or len(text) < 17 or "T" not in text:
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def refused() -> Iterator[None]:
    """The library's refusals: a change an outage's state does not allow 409, the rest 422."""
    from gateway.exceptions import NoticeError, OutageConflict, OutageError

    try:
        yield
    except OutageConflict as exc:
        raise Problem(409, str(exc)) from None
    except (OutageError, NoticeError) as exc:
        named = next(iter(exc.wording.words), "body")
        raise Problem(422, f"{named}: {exc.wording.naming()}", field=named) from None


@router.get("/outages")
async def list_outages(
    request: Request,
    who: Reader,
    status: Literal["active", "restored", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The newest outages first, as ``gateway outage list --json``: ``{"outages": [...]}``."""
    from gateway.outages import list_outages as listed

    return {"outages": await listed(store_of(request), request.app.state.config, status, limit)}


@router.get("/outages/{outage_id}")
async def show_outage(request: Request, outage_id: int, who: Reader) -> dict[str, Any]:
    """One outage as ``gateway outage show --json``: its stages (ETR history, notices sent) and tickets."""
    from gateway.outages import show_outage as shown

    return await shown(store_of(request), request.app.state.config, outage_id)


async def _answer(run: Callable[[], Awaitable[Any]], created: bool = False) -> Response:
    with refused():
        result = await run()
    answer = result.as_json()
    if result.dry_run:
        return JSONResponse(answer, status_code=200)
    outage_id = answer["outage"]["id"]
    headers = {"Location": f"{API}/outages/{outage_id}"} if created else None
    return JSONResponse(answer, status_code=201 if created else 200, headers=headers)


@router.post("/outages", status_code=201, openapi_extra=documented(NewOutage))
async def declare(
    request: Request, who: Manager, body: Annotated[NewOutage, Depends(json_body(NewOutage))]
) -> Response:
    """Declare an outage: 201 with ``outage``, ``stage_id``, ``notified`` and ``notices`` (each
    campaign's plan as ``gateway broadcast --json``); a ``dry_run`` 200 with the plans only; 422
    naming the field (an unknown area, an ETR in the past, a notice that needs an ETR)."""
    from gateway.outages import declare as declare_

    config = request.app.state.config
    return await _answer(lambda: declare_(store_of(request), config, body.areas, cause=body.cause, eta=_eta(body.eta),
                                          notify=body.notify, dry_run=body.dry_run, actor=who.name,
                                          approval=config.web.broadcast_approval),
                         created=True)  # fmt: skip


@router.post("/outages/{outage_id}/update", openapi_extra=documented(OutageUpdate))
async def update(
    request: Request, outage_id: int, who: Manager, body: Annotated[OutageUpdate, Depends(json_body(OutageUpdate))]
) -> Response:
    """A staged update (a new ETR, a note, the notice to the contacts and every reporter); 409 when
    the outage is no longer active."""
    from gateway.outages import update as update_

    config = request.app.state.config
    return await _answer(lambda: update_(store_of(request), config, outage_id, eta=_eta(body.eta), note=body.note,
                                         notify=body.notify, dry_run=body.dry_run, actor=who.name,
                                         approval=config.web.broadcast_approval))  # fmt: skip


@router.post("/outages/{outage_id}/restore", openapi_extra=documented(OutageEnd))
async def restore(
    request: Request, outage_id: int, who: Manager, body: Annotated[OutageEnd, Depends(json_body(OutageEnd))]
) -> Response:
    """The outage is over: linked tickets resolved, the restored notice (with ``check``, "reply 1
    if you still have no service"); 409 when it is no longer active."""
    from gateway.outages import restore as restore_

    config = request.app.state.config
    notify = True if body.notify is None else body.notify
    return await _answer(lambda: restore_(store_of(request), config, outage_id, check=body.check, notify=notify,
                                          note=body.note, dry_run=body.dry_run, actor=who.name,
                                          approval=config.web.broadcast_approval))  # fmt: skip


@router.post("/outages/{outage_id}/cancel", openapi_extra=documented(OutageEnd))
async def cancel(
    request: Request, outage_id: int, who: Manager, body: Annotated[OutageEnd, Depends(json_body(OutageEnd))]
) -> Response:
    """Cancel an outage declared by mistake: linked tickets resolved; the restored notice only with
    ``notify``; 409 when it is no longer active."""
    from gateway.outages import cancel as cancel_

    if body.check:
        raise Problem(422, "check: the restoration check goes with restore, not cancel", field="check")
    config = request.app.state.config
    return await _answer(lambda: cancel_(store_of(request), config, outage_id, notify=bool(body.notify),
                                         note=body.note, dry_run=body.dry_run, actor=who.name,
                                         approval=config.web.broadcast_approval))  # fmt: skip
