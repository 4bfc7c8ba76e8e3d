"""``/api/v1/session``: a person signs in with a name and a password (the console's cookie),
asks who they are, changes their password, and signs out. The sign-in limit answers 429 before any password is
checked. Bearer tokens need none of this: they sign every request in themselves."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from gateway.access.hashing import PASSWORD_MAX
from gateway.access.principal import NAME_MAX, Principal
from gateway.access.roles import actions_of
from gateway.web.auth import CHALLENGE, address_of, signed_in, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem
from gateway.web.sessions import Sessions, form_of

router = APIRouter(tags=["session"])
log = structlog.get_logger(__name__)

WRONG = "the name or the password is wrong"  # the same words for an unknown, disabled or mistyped user


class SignIn(BaseModel):
    name: str = Field(min_length=1, max_length=4 * NAME_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=PASSWORD_MAX, description="the current password")
    new_password: str = Field(min_length=1, max_length=PASSWORD_MAX, description="at least 12 characters")


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


async def sign_in_body(request: Request) -> SignIn:
    """JSON, or a plain HTML form (the console works without scripts)."""
    form = await form_of(request)
    if form is None:
        return await json_body(SignIn)(request)
    try:
        return SignIn.model_validate(form)
    except ValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        raise Problem(422, f"{name}: {exc.errors()[0]['msg']}", field=name) from None


@router.post("/session", status_code=201, openapi_extra=documented(SignIn))
async def sign_in(request: Request, given: Annotated[SignIn, Depends(sign_in_body)]) -> JSONResponse:
    """Sign in with ``name`` and ``password``: 201 with who you are, your role's actions and the
    ``csrf_token`` your writes send as ``X-CSRF-Token``; the session cookie rides along. 401 for
    a wrong name or password (either), 429 with Retry-After after too many failures."""
    from gateway.access.sessions import sign_in as start

    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        # a page of another site posting a sign-in (login CSRF: signing a victim into an account
        # the attacker knows); browsers send Origin with every such POST, scripts need none
        raise Problem(403, f"a sign-in from a page of {origin} is refused: sign in from this gateway's own pages")
    sessions, address = sessions_of(request), address_of(request)
    wait = sessions.limit.retry_after(given.name, address)
    if wait is not None:  # the name is not logged: people type passwords into it
        log.warning("sign_in_limited", address=address, retry_after=wait)
        raise Problem(
            429, f"too many failed sign-ins for this name or from this address: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    made = await start(store_of(request), given.name, given.password, hours=sessions.hours, address=address)
    if made is None:
        sessions.limit.failed(given.name, address)
        raise Problem(401, WRONG, headers=CHALLENGE)
    sessions.limit.succeeded(given.name)
    response = JSONResponse(made.signed.as_json(), status_code=201)
    sessions.set_cookie(request, response, made)
    return response


@router.get("/session")
async def who_am_i(request: Request, who: Annotated[Principal, Depends(signed_in)]) -> dict[str, Any]:
    """Who signs this request in (a session or a token), and what their role may do. A
    session's answer carries its ``csrf_token`` and ``expires_at``; a token's, nulls."""
    from gateway.access.sessions import session_of

    session_id = getattr(request.state, "session_id", None)
    signed = await session_of(store_of(request), session_id) if session_id else None
    if signed is not None:
        return signed.as_json()
    return {**who.as_json(), "actions": actions_of(who.role), "csrf_token": None, "expires_at": None}


@router.delete("/session", status_code=204)
async def sign_out(request: Request, who: Annotated[Principal, Depends(signed_in)]) -> Response:
    """Sign out: the session is ended (at once, for every request that carries its cookie)
    and the cookie cleared. Needs the session's CSRF token like any write."""
    from gateway.access.sessions import sign_out as end

    session_id = getattr(request.state, "session_id", None)
    if session_id is None:
        raise Problem(422, f"token {who.name} signs in without a session: revoke it with gateway tokens revoke")
    await end(store_of(request), session_id, address=address_of(request))
    response = Response(status_code=204)
    sessions_of(request).clear_cookie(request, response)
    return response


@router.post("/session/password", status_code=204, openapi_extra=documented(NewPassword))
async def change_password(
    request: Request,
    who: Annotated[Principal, Depends(signed_in)],
    given: Annotated[NewPassword, Depends(json_body(NewPassword))],
) -> Response:
    """A signed-in person sets their own password, giving the current one: 204, and their other
    sessions end (this one goes on). A wrong current password counts toward the sign-in limit."""
    from gateway.access.sessions import session_hash
    from gateway.access.users import set_password, verify_password
    from gateway.exceptions import AccessError
    from gateway.store.rows_access import Actor

    session_id = getattr(request.state, "session_id", None)
    if session_id is None:
        raise Problem(422, f"token {who.name} has no password: a person signs in to change theirs")
    sessions, address = sessions_of(request), address_of(request)
    wait = sessions.limit.retry_after(who.name, address)
    if wait is not None:
        raise Problem(429, f"too many wrong passwords: try again in {wait} s", headers={"Retry-After": str(wait)})
    store = store_of(request)
    if await verify_password(store, who.name, given.password) is None:
        sessions.limit.failed(who.name, address)
        raise Problem(422, "password: that is not your current password", field="password")
    actor = Actor(who.name, "user", address)
    try:
        await set_password(store, who.name, given.new_password, actor=actor, keep_session=session_hash(session_id))
    except AccessError as exc:  # too short or too long: the words never repeat the password
        raise Problem(422, f"new_password: {exc}", field="new_password") from None
    log.info("password_changed", user=who.name, address=address)
    return Response(status_code=204)
