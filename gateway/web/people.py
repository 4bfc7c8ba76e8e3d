"""``/api/v1/optouts`` and ``/api/v1/contacts``: who gets no broadcasts (``optouts.manage``)
and the contacts broadcasts reach (``contacts.manage``), as ``gateway optouts`` and
``gateway contacts`` manage them; every change audited as the signed-in user or token.

A phone may be written any way (``0912 123 4567``, ``+98 912-123-4567``, Persian digits; in a
path, ``+`` as ``%2B``): it is made +E.164 in ``[site] region``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from gateway.access.principal import Principal
from gateway.web.auth import need, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

router = APIRouter(tags=["people"])

LIMIT_DEFAULT = 50
LIMIT_MAX = 1000
OptOuts = Annotated[Principal, Depends(need("optouts.manage"))]
Contacts = Annotated[Principal, Depends(need("contacts.manage"))]


class NewOptOut(BaseModel):
    """``POST /optouts``: the phone to opt out of broadcasts, as STOP by SMS would."""

    model_config = ConfigDict(extra="forbid", strict=True)

    phone: str


def number(request: Request, phone: str) -> str:
    """``phone`` as +E.164, or a 422 naming the field."""
    from gateway.desk.people import phone_number
    from gateway.exceptions import DeskError

    try:
        return phone_number(request.app.state.config, phone)
    except DeskError as exc:
        raise Problem(422, f"phone: {exc}", field="phone") from None


@router.get("/optouts")
async def list_opt_outs(
    request: Request, who: OptOuts, limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT
) -> dict[str, Any]:
    """Phones that get no broadcasts (those that texted STOP and those added by hand), the
    latest first, as ``gateway optouts list --json``: ``{"optouts": [...]}``."""
    from gateway.desk.people import opt_outs

    return {"optouts": [o.as_json() for o in await opt_outs(store_of(request), limit)]}


@router.post("/optouts", status_code=201, openapi_extra=documented(NewOptOut))
async def add_opt_out(
    request: Request, who: OptOuts, body: Annotated[NewOptOut, Depends(json_body(NewOptOut))]
) -> dict[str, Any]:
    """Opt a phone out as STOP does: the broadcasts still waiting for it are cancelled (replies
    about its own requests still go). 201 with the opt-out and ``cancelled``; 409 when it had
    opted out already."""
    from gateway.desk.people import opt_out
    from gateway.exceptions import DeskError

    phone = number(request, body.phone)
    try:
        done = await opt_out(store_of(request), phone, actor=who.name)
    except DeskError as exc:
        raise Problem(409, f"phone: {exc}", field="phone") from None
    return {**done.as_json(), "cancelled": done.cancelled}


@router.delete("/optouts/{phone}")
async def remove_opt_out(request: Request, phone: str, who: OptOuts) -> dict[str, Any]:
    """Take back a phone's opt-out, as START does: later broadcasts reach it again (those
    cancelled stay cancelled). 200 ``{"phone": ..., "opted_out": false}``; 404 when it had none."""
    from gateway.desk.people import opt_in

    done = await opt_in(store_of(request), number(request, phone), actor=who.name)
    return {"phone": done, "opted_out": False}


@router.get("/contacts")
async def list_contacts(
    request: Request,
    who: Contacts,
    search: Annotated[str | None, Query(description="in the name, area, account or number")] = None,
    group: str | None = None,
    area: str | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT,
) -> dict[str, Any]:
    """Contacts by phone number, as ``gateway contacts list --json``: ``{"contacts": [...]}``;
    ``search`` finds those whose name, area, account or number holds it (a number written any
    way); 404 for a ``group`` there is not."""
    from gateway.desk.people import find_contacts

    rows = await find_contacts(store_of(request), search=search, group=group, area=area, limit=limit)
    return {"contacts": rows}


@router.delete("/contacts/{phone}")
async def remove_contact(request: Request, phone: str, who: Contacts) -> dict[str, Any]:
    """Delete a contact and take it out of its groups (what it texted, its tickets and its
    opt-out stay). 200 ``{"phone": ..., "groups": [the groups it left]}``; 404 when there is none."""
    from gateway.desk.people import drop_contact

    target = number(request, phone)
    return {"phone": target, "groups": await drop_contact(store_of(request), target, actor=who.name)}
