"""Sign in and sign out: the API's session (``POST /api/v1/session``, its limit, its Origin
check and its cookie) behind a plain form, and ``/`` sending people to their inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.web.console.pages import page, render
from gateway.web.problems import Problem

router = APIRouter()
HOME = "/inbox"


def _back_to(given: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or a URL)."""
    if given and given.startswith("/") and not given.startswith("//") and "\\" not in given:
        return given
    return HOME


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    who = await request.app.state.sessions.principal(request)
    if who is not None:
        return RedirectResponse(_back_to(request.query_params.get("next")), status_code=303)
    return render(request, None, "sign_in.html", back_to=request.query_params.get("next", ""), name="")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """The API's sign-in from a form; its cookie on a redirect to the page asked for."""
    from gateway.web.session import sign_in as api_sign_in
    from gateway.web.session import sign_in_body
    from gateway.web.sessions import form_of

    form = await form_of(request) or {}
    name, back_to = form.get("name", ""), form.get("next", "")
    try:
        answer = await api_sign_in(request, await sign_in_body(request))
    except Problem as exc:
        error: tuple[str, dict[str, int]]
        if exc.status == 401:
            error = ("wrong_password", {})
        elif exc.status == 429:
            error = ("too_many", {"seconds": int(exc.headers.get("Retry-After", "0"))})
        else:
            error = ("refused", {})
        return render(
            request, None, "sign_in.html", status=exc.status, refusal=error, detail=exc.detail, name=name,
            back_to=back_to,
        )  # fmt: skip
    done = RedirectResponse(_back_to(back_to), status_code=303)
    for value in answer.headers.getlist("set-cookie"):
        done.headers.append("set-cookie", value)
    return done


@router.post("/sign-out")
async def sign_out(request: Request, who: Annotated[Principal, Depends(page(None))]) -> Response:
    from gateway.access.sessions import sign_out as end
    from gateway.web.auth import address_of, store_of

    await end(store_of(request), request.state.session_id, address=address_of(request))
    done = RedirectResponse("/sign-in", status_code=303)
    request.app.state.sessions.clear_cookie(request, done)
    return done
