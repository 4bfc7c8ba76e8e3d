"""The console: the gateway's web pages for people at the desk, served by ``gateway serve``
at ``/`` beside the API (docs/console.md).

Server-rendered (Jinja2 templates in ``templates/``), in each user's language (``locale/``),
with a little JavaScript of its own (``static/``) for the live parts; nothing is loaded from
outside. Built on the API's calls and its session sign-in: a page is a face over the same
library functions the API's routes call.

:func:`install` mounts every module of this package that has a ``router`` (and adds its
``NAV`` entries to the menu): a new page is a new module here, nothing else to register.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.web.console.pages import HERE, STATIC, Nav, Refused, SignInFirst, render, sign_in_url

if TYPE_CHECKING:
    from fastapi import FastAPI

FRAME = frozenset({"pages", "locale", "forms"})  # modules of the frame, not pages


def install(app: FastAPI) -> None:
    """The console's pages, its files and its error pages on ``app``."""
    nav: list[Nav] = []
    for module in pkgutil.iter_modules([str(HERE)]):
        if module.name in FRAME or module.ispkg:
            continue
        found = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(found, "router"):
            app.include_router(found.router, include_in_schema=False)
            nav.extend(getattr(found, "NAV", ()))
    app.state.console_nav = sorted(nav, key=lambda n: n.order)
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")

    async def on_sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInFirst)
        return RedirectResponse(sign_in_url(exc.back_to), status_code=303)

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return render(request, exc.who, "error.html", status=exc.status, label=exc.label, detail=exc.detail)

    app.add_exception_handler(SignInFirst, on_sign_in_first)
    app.add_exception_handler(Refused, on_refused)
