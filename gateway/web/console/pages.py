"""The console's frame: who is looking (the API's session cookie), what they may see, and a
page rendered in their language. Every page module of this package uses it::

    router = APIRouter()
    NAV = (Nav("broadcasts", "/broadcasts", "broadcasts.read", order=30),)

    @router.get("/broadcasts")
    async def broadcasts(request: Request, who: Annotated[Principal, Depends(page("broadcasts.read"))]):
        return render(request, who, "broadcasts.html", campaigns=...)

:func:`page` answers a visitor with no session by sending them to Sign in, a role that may
not ``action`` with a 403 page, and a form (any POST) without the session's ``csrf_token``
field with a 403 page; :func:`render` gives the template ``t`` (the user's words, digits and
dates: :mod:`gateway.web.console.locale`), ``who``, ``csrf_token``, ``nav`` (the pages the
role may see) and ``done`` (what the last form did, from ``?done=``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.access.principal import Principal
from gateway.access.roles import ACTIONS
from gateway.web.auth import SAFE_METHODS, address_of
from gateway.web.console.locale import LANGUAGES, Words, words
from gateway.web.problems import Problem

HERE = Path(__file__).parent
STATIC = "/console-static"  # the package's CSS and JS (static/)
SIGN_IN = "/sign-in"
# Pages hold customer data: never cached. Referrer-Policy same-origin, not the API's
# no-referrer: under no-referrer Chromium posts forms with "Origin: null", and the sign-in
# refuses a post whose Origin is not this site's (login CSRF).
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
)


@dataclass(frozen=True)
class Nav:
    """A page in the menu: its label's key (locale ``[labels]``), its path, the action a role
    needs to see it, and its place (lower first)."""

    label: str
    path: str
    action: str | None  # None: anyone signed in
    order: int = 50


class SignInFirst(Exception):  # not an error: the visitor is sent to Sign in (as Problem, a face's answer)
    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


class Refused(Exception):  # a page's answer, shown as a page in the user's language
    """Answer with an error page: ``status``, a label key of the user's words, and a detail."""

    def __init__(self, status: int, label: str, detail: str = "", who: Principal | None = None) -> None:
        super().__init__(detail or label)
        self.status, self.label, self.detail, self.who = status, label, detail, who


def page(action: str | None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in person, if their role may ``action`` (None: anyone signed
    in); a write must carry the session's CSRF token (a ``csrf_token`` form field)."""
    if action is not None and action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    async def check(request: Request) -> Principal:
        from gateway.store.audit import behalf_of_request

        sessions = request.app.state.sessions
        who: Principal | None = await sessions.principal(request)
        if who is None:
            raise SignInFirst(request.url.path if request.method in SAFE_METHODS else "/")
        if request.method not in SAFE_METHODS:
            try:
                sessions.check_csrf(request)
            except Problem as exc:
                raise Refused(403, "refused", exc.detail, who) from None
        if action is not None and not who.may(action):
            raise Refused(403, "forbidden", f"{who.role} may not {ACTIONS[action]}", who)
        request.state.principal = who
        behalf_of_request(who.kind, address_of(request))
        return who

    return check


def nav_of(request: Request, who: Principal | None) -> list[Nav]:
    if who is None:
        return []
    return [n for n in request.app.state.console_nav if n.action is None or who.may(n.action)]


def words_of(request: Request, who: Principal | None) -> Words:
    """A signed-in user's language; before sign-in, the browser's first of ours it accepts
    (``Accept-Language``), else ``[site] language``."""
    config = request.app.state.config
    chosen = who.language if who is not None else accepted(request.headers.get("accept-language", ""))
    own = str(config.resolve(config.web.locale_dir)) if config.web.locale_dir else ""
    return words(chosen, config.site.timezone, config.site.language, own)


def accepted(header: str) -> str | None:
    """The first language of ours in an ``Accept-Language`` header, by its weight."""
    ranked = []
    for n, item in enumerate(header.split(",")):
        tag, _, weight = item.strip().partition(";q=")
        try:
            q = float(weight) if weight else 1.0
        except ValueError:
            continue
        primary = tag.split("-")[0].strip().lower()
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, n, primary))
    return min(ranked)[2] if ranked else None


def csrf_of(request: Request) -> str:
    from gateway.access.sessions import csrf_for

    session_id = getattr(request.state, "session_id", None)
    return csrf_for(session_id) if session_id else ""


def render(request: Request, who: Principal | None, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` for ``who`` in their language (the site's before sign-in)."""
    t = words_of(request, who)
    body = templates.get_template(template).render(
        t=t, who=who, csrf_token=csrf_of(request), nav=nav_of(request, who), path=request.url.path,
        static=STATIC, done=request.query_params.get("done"), done_id=request.query_params.get("id", ""),
        **context,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def sign_in_url(back_to: str) -> str:
    return f"{SIGN_IN}?next={quote(back_to, safe='/')}" if back_to not in ("", "/") else SIGN_IN
