"""Broadcasts (supervisors): the campaigns with their progress, live; pause, resume and cancel
one; and, when ``[web] broadcast_approval`` makes new ones wait, the approval queue where
another supervisor than the creator lets one go. A new broadcast is :mod:`.broadcast_new`.
Each form calls the library function the API's route calls, audited as the signed-in user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.exceptions import CampaignConflict, GatewayError, NotFound, SelfApproval
from gateway.web.console.pages import Nav, Refused, page, render

router = APIRouter()
NAV = (Nav("broadcasts", "/broadcasts", "broadcasts.read", order=30),)
Reader = Annotated[Principal, Depends(page("broadcasts.read"))]
Creator = Annotated[Principal, Depends(page("broadcasts.create"))]
Approver = Annotated[Principal, Depends(page("broadcasts.approve"))]
SHOWN = 50  # campaigns on the page, newest first
POLL_S = 3  # seconds between re-reads of the progress while something is sending
PENDING = "pending_approval"
ACTIVE = frozenset({"running", "paused", PENDING, "scheduled"})


def progress_of(c: dict[str, Any]) -> tuple[int, int]:
    """(messages dealt with, messages in all) for a campaign's bar: sent, failed or cancelled
    of every message made so far (a staged campaign counts the runs still to come)."""
    done = c["sent"] + c["failed"] + c["cancelled_messages"]
    total = max(c["messages"], c["recipients"] * c["runs_total"] if c["status"] not in ("done", "cancelled") else 0)
    return done, max(total, done)


async def campaigns(request: Request) -> list[dict[str, Any]]:
    from gateway.broadcast.campaigns import campaigns_progress
    from gateway.web.auth import store_of

    return await campaigns_progress(store_of(request), request.app.state.config, SHOWN)


@router.get("/broadcasts")
async def broadcasts(request: Request, who: Reader) -> Response:
    return await show(request, who)


async def show(request: Request, who: Principal, *, status: int = 200, error: str | None = None) -> Response:
    listed = await campaigns(request)
    waiting = [c for c in listed if c["status"] == PENDING]
    context = {
        "campaigns": listed, "waiting": waiting, "approval": request.app.state.config.web.broadcast_approval,
        "progress_of": progress_of, "poll": POLL_S, "message": request.query_params.get("message", ""),
    }  # fmt: skip
    return render(request, who, "broadcasts.html", status=status, error=error, **context)


def _done(label: str, campaign_id: int) -> RedirectResponse:
    return RedirectResponse(f"/broadcasts?done={label}&id={campaign_id}#campaign-{campaign_id}", status_code=303)


async def _refused(request: Request, who: Principal, exc: GatewayError) -> Response:
    if isinstance(exc, NotFound):
        raise Refused(404, "not_found", str(exc), who)
    code = 403 if isinstance(exc, SelfApproval) else 409 if isinstance(exc, CampaignConflict) else 422
    return await show(request, who, status=code, error=str(exc))


@router.post("/broadcasts/{campaign_id}/approve")
async def approve(request: Request, campaign_id: int, who: Approver) -> Response:
    from gateway.broadcast.campaigns import approve as approve_campaign
    from gateway.web.auth import store_of

    try:
        await approve_campaign(store_of(request), request.app.state.config, campaign_id, actor=who.name)
    except GatewayError as exc:
        return await _refused(request, who, exc)
    return _done("broadcast_approved", campaign_id)


async def _control(request: Request, campaign_id: int, who: Principal, action: str) -> Response:
    from gateway.broadcast.campaigns import change
    from gateway.web.auth import store_of

    try:
        await change(store_of(request), request.app.state.config, campaign_id, action, actor=who.name)
    except GatewayError as exc:
        return await _refused(request, who, exc)
    return _done(f"broadcast_{action}d" if action != "cancel" else "broadcast_cancelled", campaign_id)


@router.post("/broadcasts/{campaign_id}/pause")
async def pause(request: Request, campaign_id: int, who: Creator) -> Response:
    return await _control(request, campaign_id, who, "pause")


@router.post("/broadcasts/{campaign_id}/resume")
async def resume(request: Request, campaign_id: int, who: Creator) -> Response:
    return await _control(request, campaign_id, who, "resume")


@router.post("/broadcasts/{campaign_id}/cancel")
async def cancel(request: Request, campaign_id: int, who: Creator) -> Response:
    return await _control(request, campaign_id, who, "cancel")
