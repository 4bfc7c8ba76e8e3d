"""Each person's own console language (fa, ar, en; ``gateway users add --language`` sets the
first): a form that saves it (audited ``user.language``) and shows the pages in it at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError
from gateway.web.console.locale import LANGUAGES
from gateway.web.console.pages import Nav, page, render

router = APIRouter()
NAV = (Nav("language", "/language", None, order=90),)
Anyone = Annotated[Principal, Depends(page(None))]


@router.get("/language")
async def language_page(request: Request, who: Anyone) -> Response:
    return render(request, who, "language.html", languages=LANGUAGES)


@router.post("/language")
async def choose(request: Request, who: Anyone) -> Response:
    from gateway.access.language import set_language
    from gateway.web.auth import address_of, store_of
    from gateway.web.sessions import form_of

    form = await form_of(request) or {}
    if who.kind != "user":
        return render(request, who, "language.html", status=422, languages=LANGUAGES, error="only a user has one")
    try:
        await set_language(store_of(request), who.name, form.get("language", ""), actor=who.actor(address_of(request)))
    except GatewayError as exc:
        return render(request, who, "language.html", status=422, languages=LANGUAGES, error=str(exc))
    return RedirectResponse("/language?done=language_saved", status_code=303)
