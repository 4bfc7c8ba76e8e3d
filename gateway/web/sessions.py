"""The console's sign-in as the frame asks for it (``app.state.sessions``,
:func:`gateway.web.auth.signed_in`): the session cookie in, the principal out, and the CSRF
check of a cookie-signed write. The rules are the library's (:mod:`gateway.access.sessions`,
:mod:`gateway.access.limits`); this module only reads and writes cookies and headers.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
path /, Secure when the request came over https (served with ``[web] tls_cert``, or a proxy
in ``[web] proxies`` saying X-Forwarded-Proto: https), and lasts ``[web] session_hours``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request, Response

from gateway.access.limits import SignInLimit
from gateway.access.sessions import csrf_matches, session_of
from gateway.web.auth import SAFE_METHODS, store_of
from gateway.web.body import BODY_MAX
from gateway.web.problems import Problem

if TYPE_CHECKING:
    from gateway.access.principal import Principal
    from gateway.access.sessions import NewSession
    from gateway.config.sections import WebConfig

COOKIE = "gateway_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same token in a form's hidden field
FORM_TYPE = "application/x-www-form-urlencoded"  # a plain HTML form (read with the standard library)


class Sessions:
    """Sessions by cookie, and the sign-in limit of this process."""

    def __init__(self, web: WebConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.hours = web.session_hours
        self.limit = SignInLimit(web.login_attempts, web.login_window, clock)

    async def principal(self, request: Request) -> Principal | None:
        """Who the request's session cookie signs in, or None. For a write, the form's CSRF
        field is read here (reading a body needs an await; :meth:`check_csrf` is plain)."""
        session_id = request.cookies.get(COOKIE)
        if not session_id:
            return None
        signed = await session_of(store_of(request), session_id)
        if signed is None:
            return None
        request.state.session_id = session_id
        if request.method not in SAFE_METHODS and CSRF_HEADER not in request.headers:
            request.state.csrf_form = await _form_token(request)
        return signed.principal

    def check_csrf(self, request: Request) -> None:
        """A cookie-signed write must carry the session's CSRF token: 403 if it does not."""
        session_id = getattr(request.state, "session_id", None)
        given = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form", None)
        if session_id is None or not csrf_matches(session_id, given):
            raise Problem(
                403, f"a write signed in by the session cookie needs its CSRF token: send the {CSRF_HEADER} "
                f"header (or a {CSRF_FIELD} form field) with the csrf_token GET /api/v1/session gives",
            )  # fmt: skip

    def set_cookie(self, request: Request, response: Response, made: NewSession) -> None:
        response.set_cookie(
            COOKIE, made.session_id, max_age=int(self.hours * 3600), path="/",
            secure=request.url.scheme == "https", httponly=True, samesite="strict",
        )  # fmt: skip

    def clear_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict")


async def form_of(request: Request) -> dict[str, str] | None:
    """A plain HTML form's fields (the first of each name), or None if the body is not one.
    Read with the standard library; the body is cached, so the route may read it again."""
    from urllib.parse import parse_qsl

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        return None
    body = await request.body()
    if len(body) > BODY_MAX:
        raise Problem(413, f"the body is {len(body)} bytes: at most {BODY_MAX}")
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


async def _form_token(request: Request) -> str | None:
    """The ``csrf_token`` field of a form body."""
    form = await form_of(request)
    return form.get(CSRF_FIELD) if form is not None else None
