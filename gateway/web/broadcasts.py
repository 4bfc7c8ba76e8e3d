"""``/api/v1/broadcasts``: campaigns with their progress (``broadcasts.read``); plan or create
one with the CLI's choices (``broadcasts.create``: a ``dry_run`` answers the plan and creates
nothing); pause, resume or cancel one; approve one another supervisor created
(``broadcasts.approve``) when ``[web] broadcast_approval`` makes new ones wait.

The fields are ``gateway broadcast --json``'s and ``gateway broadcast status --json``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

router = APIRouter(tags=["broadcasts"])

API = "/api/v1"
LIST_DEFAULT = 20
Reader = Annotated[Principal, Depends(need("broadcasts.read"))]
Creator = Annotated[Principal, Depends(need("broadcasts.create"))]
Approver = Annotated[Principal, Depends(need("broadcasts.approve"))]


class NewBroadcast(BaseModel):
    """``POST /broadcasts``: the CLI's choices. The audience is the union of ``groups``,
    ``areas`` (with ``reporters``: only reporters in those areas) and ``reporters`` (ticket
    categories) with ``since``. Times are ISO 8601 (UTC when they carry no offset); ``every``
    is seconds or an ISO 8601 duration (``PT2H``)."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, description="the notice (gateway templates list)")
    vars: dict[str, str] = Field(default_factory=dict, description='its values; "area.fa" for one language')
    groups: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)
    reporters: list[str] = Field(default_factory=list, description="ticket categories: who opened one since")
    since: datetime | None = None
    rate: int | None = Field(default=None, ge=1, description="at most this many messages a minute")
    window: str | None = Field(default=None, description='local hours it may send in, "07:00-23:00"')
    every: timedelta | None = Field(default=None, description="staged updates: again every this long")
    until: datetime | None = Field(default=None, description="with every: the last run at or before")
    times: int | None = Field(default=None, ge=1, description="with every: how many runs in all")
    dry_run: bool = Field(default=False, description="true: answer the plan, create nothing")

    @model_validator(mode="after")
    def _audience(self) -> NewBroadcast:
        if not (self.groups or self.areas or self.reporters):
            raise ValueError("give an audience: groups, areas and/or reporters (with since)")
        if self.reporters and self.since is None:
            raise ValueError("reporters needs since (an ISO 8601 time: who reported since then)")
        if self.since is not None and not self.reporters:
            raise ValueError("since goes with reporters (who reported since when)")
        return self


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@contextmanager
def answered() -> Iterator[None]:
    """The library's refusals about a campaign as HTTP says them: its creator approving it 403,
    a state that does not allow the change 409 (not found, the database: their own answers)."""
    from gateway.exceptions import CampaignConflict, SelfApproval

    try:
        yield
    except SelfApproval as exc:
        raise Problem(403, str(exc)) from None
    except CampaignConflict as exc:
        raise Problem(409, str(exc)) from None


@contextmanager
def refused_as(field: str) -> Iterator[None]:
    """A refusal of the library as a 422 naming ``field`` (or the field a :class:`FieldError`
    names); the database's troubles keep their own answer."""
    from gateway.exceptions import FieldError, GatewayError, StoreError

    try:
        yield
    except StoreError:
        raise
    except FieldError as exc:
        named = next(iter(exc.wording.words), field)
        raise Problem(422, f"{named}: {exc.wording.naming()}", field=named) from None
    except GatewayError as exc:
        raise Problem(422, f"{field}: {exc.wording.naming()}", field=field) from None


async def check_fields(request: Request, body: NewBroadcast) -> None:
    """Each named thing exists (the notice, the groups, categories and areas) and the window
    reads: a 422 naming the field at fault, before anything is planned."""
    from gateway.broadcast.audience import check_audience
    from gateway.broadcast.templates import notice, notices
    from gateway.config.window import parse_window
    from gateway.store import AudienceSpec

    config = request.app.state.config
    with refused_as("template"):
        notice(notices(config), body.template)
    if body.window is not None:
        try:
            parse_window(body.window)
        except ValueError as exc:
            raise Problem(422, f"window: {exc}", field="window") from None
    store = store_of(request)
    for field, spec in (
        ("groups", AudienceSpec(groups=tuple(body.groups))),
        ("areas", AudienceSpec(areas=tuple(body.areas))),
        ("reporters", AudienceSpec(reporters=tuple(body.reporters))),
    ):
        with refused_as(field):
            await check_audience(store, config, spec)


@router.get("/broadcasts")
async def list_broadcasts(
    request: Request, who: Reader, limit: Annotated[int, Query(ge=1, le=200)] = LIST_DEFAULT
) -> dict[str, Any]:
    """The newest campaigns first, each with its progress as ``gateway broadcast status --json``
    shows it (the fields of ``gateway broadcast list --json`` and the counts): ``{"broadcasts": [...]}``."""
    from gateway.broadcast.campaigns import campaigns_progress

    return {"broadcasts": await campaigns_progress(store_of(request), request.app.state.config, limit)}


@router.get("/broadcasts/{campaign_id}")
async def show_broadcast(request: Request, campaign_id: int, who: Reader) -> dict[str, Any]:
    """One campaign as ``gateway broadcast status --json``: counts, rate, ETA, who created and approved it."""
    from gateway.broadcast.campaigns import progress
    from gateway.lockfile import daemon_running

    return await progress(store_of(request), campaign_id, daemon_running(request.app.state.config))


@router.post("/broadcasts", status_code=201, openapi_extra=documented(NewBroadcast))
async def create(
    request: Request, who: Creator, body: Annotated[NewBroadcast, Depends(json_body(NewBroadcast))]
) -> Response:
    """Plan a broadcast and create it: 201 with the plan (as ``gateway broadcast --json``: recipients
    per language, texts and parts, each SIM's quota use, the estimated finish), the ``campaign`` id
    and its ``status`` (``running``, or ``pending_approval`` with ``[web] broadcast_approval``).
    ``dry_run``: 200 with the plan, nothing created."""
    from gateway.broadcast.operations import BroadcastRequest, submit
    from gateway.store import AudienceSpec

    config = request.app.state.config
    spec = AudienceSpec(
        groups=tuple(body.groups), areas=tuple(body.areas), reporters=tuple(body.reporters), since=_aware(body.since)
    )
    wanted = BroadcastRequest(
        body.template, dict(body.vars), spec, rate=body.rate, window=body.window, every=body.every,
        until=_aware(body.until), times=body.times,
    )  # fmt: skip
    await check_fields(request, body)
    approval = config.web.broadcast_approval
    store = store_of(request)
    # what is left to refuse: a variable the notice has not, too many runs, a text no SIM can send, nobody
    with refused_as("vars" if body.vars else "body"):
        plan, campaign_id, warning = await submit(
            store, config, wanted, created_by=who.name, approval=approval, dry_run=body.dry_run
        )
    answer = {**plan.as_json(), "campaign": campaign_id, "status": None, "warning": warning}
    if campaign_id is None:
        return JSONResponse(answer, status_code=200)
    campaign = await store.campaign(campaign_id)
    answer["status"] = campaign.status if campaign is not None else None
    return JSONResponse(answer, status_code=201, headers={"Location": f"{API}/broadcasts/{campaign_id}"})


async def _after(request: Request, campaign_id: int, message: str) -> dict[str, Any]:
    from gateway.broadcast.campaigns import progress
    from gateway.lockfile import daemon_running

    status = await progress(store_of(request), campaign_id, daemon_running(request.app.state.config))
    return {**status, "message": message}


@router.post("/broadcasts/{campaign_id}/approve")
async def approve(request: Request, campaign_id: int, who: Approver) -> dict[str, Any]:
    """Let a campaign that waits as ``pending_approval`` go: 200 with it as ``GET`` shows it (and
    ``message``); 403 for its creator (a second supervisor must approve); 409 when it is not waiting."""
    from gateway.broadcast.campaigns import approve as approve_campaign

    with answered():
        message = await approve_campaign(store_of(request), request.app.state.config, campaign_id, actor=who.name)
    return await _after(request, campaign_id, message)


def _control(action: str) -> Any:
    async def control(request: Request, campaign_id: int, who: Creator) -> dict[str, Any]:
        from gateway.broadcast.campaigns import change

        with answered():
            message = await change(store_of(request), request.app.state.config, campaign_id, action, actor=who.name)
        return await _after(request, campaign_id, message)

    control.__name__ = f"{action}_broadcast"
    control.__doc__ = {
        "pause": "Stop releasing its messages (those with a modem still go); 409 unless it is running.",
        "resume": "Carry on with a paused campaign; 409 unless it is paused (a pending one is approved instead).",
        "cancel": "Send no more of it (also one waiting for approval); 409 when it is over already.",
    }[action]
    return control


for _action in ("pause", "resume", "cancel"):
    router.add_api_route(f"/broadcasts/{{campaign_id}}/{_action}", _control(_action), methods=["POST"])
