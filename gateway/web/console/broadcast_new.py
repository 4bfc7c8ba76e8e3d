"""A new broadcast (supervisors): a notice of ``[broadcast] templates`` with its preview in
each language, the audience (a group, areas, and who reported since when), one box per
variable of the notice (and per language for a variable written in words), then "Dry run":
the plan (recipients per language, parts, each SIM's quota use, the estimated finish) before
"Create". The API's ``POST /api/v1/broadcasts`` checks and library call, as the signed-in user.

Without JavaScript everything works: choosing a notice is a button ("Show notice") that shows
the form again with its variables; the script presses it when the notice is chosen. Create
creates what the dry run showed: if the form changed since, the new plan is shown instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError
from gateway.web.console.pages import page, render

if TYPE_CHECKING:
    from gateway.broadcast.templates import Notice
    from gateway.config import Config

router = APIRouter()
Creator = Annotated[Principal, Depends(page("broadcasts.create"))]
WORDS = re.compile(r"[^\W\d_]")  # a letter of any script: a value written in words needs each language's


def list_of(value: str) -> list[str]:
    """A comma-separated field (Persian or Arabic commas too) as its items."""
    return [v.strip() for v in re.split(r"[,،]", value) if v.strip()]


def worded(n: Notice) -> list[str]:
    """The notice's variables written in words (their sample has letters): each language's own
    value may be given (``area.fa``); a number or a time is written in each language's digits."""
    return [name for name, sample in n.samples.items() if WORDS.search(sample)]


def values_of(form: dict[str, str], n: Notice | None) -> dict[str, str]:
    """The variables as typed (``var.NAME``, ``var.NAME.LANG``), those left empty out."""
    if n is None:
        return {}
    out = {}
    for name in n.variables:
        for key in (name, *(f"{name}.{lang}" for lang in n.texts)):
            if form.get(f"var.{key}", "").strip():
                out[key] = form[f"var.{key}"].strip()
    return out


def previews(n: Notice, values: dict[str, str]) -> dict[str, Any]:
    """Each language's text with the values typed so far (the samples where none yet) and its parts."""
    from gateway.broadcast.templates import measure

    shown = {**n.samples, **values}
    return {lang: measure(lang, n.render(lang, shown)) for lang in n.texts}


def digest(form: dict[str, str]) -> str:
    """What a plan was made of: Create checks the form is the one the dry run showed."""
    kept = {k: v.strip() for k, v in sorted(form.items()) if k not in ("csrf_token", "step", "planned")}
    return hashlib.sha256(json.dumps(kept, ensure_ascii=False).encode()).hexdigest()[:32]


async def choices(request: Request, config: Config) -> dict[str, Any]:
    from gateway.broadcast.templates import notices
    from gateway.conversation.keywords import load_catalogue
    from gateway.web.auth import store_of

    categories = sorted({c.category for c in load_catalogue(config.catalogue_path).codes if c.category})
    return {"notices": notices(config), "groups": await store_of(request).groups(), "categories": categories}


async def show(
    request: Request, who: Principal, form: dict[str, str], *, plan: dict[str, Any] | None = None,
    status: int = 200, error: str | None = None, note: str | None = None,
) -> Response:  # fmt: skip
    config: Config = request.app.state.config
    context = await choices(request, config)
    chosen = context["notices"].get(form.get("template", ""))
    preview = None
    if chosen is not None:
        try:
            preview = previews(chosen, values_of(form, chosen))
        except GatewayError:
            preview = previews(chosen, {})
    context.update(
        form=form, notice=chosen, worded=worded(chosen) if chosen else [], preview=preview, plan=plan,
        planned=digest(form) if plan else "", approval=config.web.broadcast_approval, note=note,
    )  # fmt: skip
    return render(request, who, "broadcast_new.html", status=status, error=error, **context)


@router.get("/broadcasts/new")
async def new_broadcast(request: Request, who: Creator) -> Response:
    return await show(request, who, {"template": request.query_params.get("template", "")})


async def _plan(request: Request, who: Principal, form: dict[str, str], dry_run: bool) -> tuple[Any, int | None]:
    """The API's checks and :func:`submit`: (the plan, the campaign made or None). Raises
    ValueError with the words to show when the form or the library refuses."""
    from pydantic import ValidationError

    from gateway.broadcast.operations import BroadcastRequest, submit
    from gateway.broadcast.templates import notices
    from gateway.store import AudienceSpec
    from gateway.web.auth import store_of
    from gateway.web.broadcasts import NewBroadcast, check_fields
    from gateway.web.console.inbox import since_of
    from gateway.web.problems import Problem

    config: Config = request.app.state.config
    n = notices(config).get(form.get("template", ""))
    try:
        since = since_of(form.get("since", ""), config.site.timezone)
        body = NewBroadcast(
            template=form.get("template", ""), vars=values_of(form, n), groups=list_of(form.get("group", "")),
            areas=list_of(form.get("areas", "")), reporters=list_of(form.get("reporters", "")), since=since,
        )  # fmt: skip
        await check_fields(request, body)
        spec = AudienceSpec(groups=tuple(body.groups), areas=tuple(body.areas), reporters=tuple(body.reporters),
                            since=body.since)  # fmt: skip
        wanted = BroadcastRequest(body.template, dict(body.vars), spec)
        plan, campaign_id, _warning = await submit(
            store_of(request), config, wanted, created_by=who.name, approval=config.web.broadcast_approval,
            dry_run=dry_run,
        )  # fmt: skip
    except ValidationError as exc:
        raise ValueError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
    except Problem as exc:
        raise ValueError(exc.detail) from None
    except GatewayError as exc:
        raise ValueError(str(exc)) from None
    return plan, campaign_id


@router.post("/broadcasts/new")
async def post_broadcast(request: Request, who: Creator) -> Response:
    from gateway.web.sessions import form_of

    form = {k: v for k, v in (await form_of(request) or {}).items()}
    step = form.get("step", "template")
    if step == "template":
        return await show(request, who, form)
    changed = step == "create" and form.get("planned") != digest(form)
    try:
        plan, campaign_id = await _plan(request, who, form, dry_run=step != "create" or changed)
    except ValueError as exc:
        return await show(request, who, form, status=422, error=str(exc))
    if campaign_id is None:
        note = "form_changed" if changed else None
        return await show(request, who, form, plan=plan.as_json(), note=note)
    return RedirectResponse(f"/broadcasts?done=broadcast_created&id={campaign_id}#campaign-{campaign_id}", 303)
