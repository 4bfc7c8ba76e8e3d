"""Who is asking, and may they: a bearer token (``gateway tokens create``) or a console
session (:mod:`gateway.web.sessions`), then the role table (:mod:`gateway.access.roles`).

Routes declare what they do with :func:`need`::

    who: Annotated[Principal, Depends(need("tickets.write"))]

declared before the body (:func:`gateway.web.body.json_body`), so that authorisation is
decided before the body is read: 401 and 403 come before 422. From then on the request's
writes are audited as that principal from the client's address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import Request

from gateway.access.principal import Principal
from gateway.access.roles import ACTIONS
from gateway.web.problems import Problem

if TYPE_CHECKING:
    from gateway.store import Store

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gateway"'}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def store_of(request: Request) -> Store:
    """The app's store: one for the process, opened when it starts."""
    store: Store = request.app.state.store
    return store


def address_of(request: Request) -> str:
    """The client's address (a proxy's X-Forwarded-For only from ``[web] proxies``: uvicorn's)."""
    return request.client.host if request.client else "unknown"


async def signed_in(request: Request) -> Principal:
    """The principal of a request, or 401. A bearer token wins over a session cookie; a
    session's writes also need its CSRF token (the console's forms and scripts send it)."""
    from gateway.access.tokens import verify_token
    from gateway.store.audit import behalf_of_request

    header = request.headers.get("authorization")
    who: Principal | None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "the Authorization header must be: Bearer TOKEN", headers=CHALLENGE)
        who = await verify_token(store_of(request), token)
        if who is None:
            raise Problem(401, "the bearer token is unknown or revoked", headers=CHALLENGE)
    else:
        sessions = request.app.state.sessions
        who = await sessions.principal(request) if sessions is not None else None
        if who is None:
            raise Problem(
                401, "sign in: send Authorization: Bearer TOKEN (gateway tokens create), or a session",
                headers=CHALLENGE,
            )  # fmt: skip
        if request.method not in SAFE_METHODS:
            sessions.check_csrf(request)
    request.state.principal = who
    behalf_of_request(who.kind, address_of(request))
    return who


def need(action: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in principal, if its role may do ``action``; else 401 or 403."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    async def check(request: Request) -> Principal:
        who = await signed_in(request)
        if not who.may(action):
            raise Problem(403, f"{who.kind} {who.name} ({who.role}) may not {ACTIONS[action]}")
        return who

    return check
