"""Opt-outs and contacts (supervisors): find a phone or a contact, opt a phone out of
broadcasts (as STOP does) or take the opt-out back (as START does), remove a contact, and
import contacts from a CSV file with the line-by-line report. Each form is the library call
the API and the CLI make, audited as the signed-in user; the file is written to a private
temporary folder, imported, and removed."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError
from gateway.web.console.pages import Nav, page, render
from gateway.web.console.uploads import UPLOAD_MAX, upload_page

router = APIRouter()
NAV = (Nav("people", "/people", "optouts.manage", order=40),)
OptOuts = Annotated[Principal, Depends(page("optouts.manage"))]
Contacts = Annotated[Principal, Depends(page("contacts.manage"))]
Importer = Annotated[Principal, Depends(upload_page("contacts.manage"))]
SHOWN = 50  # rows of each list
SEARCHED = 1000  # opt-outs looked through for a search (the latest)
SAFE_NAME = re.compile(r"[^\w.-]+")


async def show(
    request: Request, who: Principal, *, status: int = 200, error: str | None = None,
    typed: dict[str, str] | None = None, report: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    from gateway.config.reader import ascii_digits
    from gateway.desk.people import find_contacts, opt_outs
    from gateway.web.auth import store_of

    store = store_of(request)
    search = request.query_params.get("search", "").strip()
    outs = await opt_outs(store, SEARCHED if search else SHOWN)
    if search:
        wanted = "".join(ascii_digits(search).split()).replace("-", "").removeprefix("+").lstrip("0")
        outs = [o for o in outs if wanted and wanted in o.phone][:SHOWN]
    contacts: list[dict[str, Any]] = []
    if who.may("contacts.manage"):
        contacts = await find_contacts(store, search=search or None, limit=SHOWN)
    context = {
        "search": search, "optouts": outs, "contacts": contacts, "groups": await store.groups(),
        "typed": typed or {}, "report": report, "upload_max_mb": UPLOAD_MAX // (1024 * 1024),
    }  # fmt: skip
    return render(request, who, "people.html", status=status, error=error, **context)


@router.get("/people")
async def people(request: Request, who: OptOuts) -> Response:
    return await show(request, who)


async def _form(request: Request) -> dict[str, str]:
    from gateway.web.sessions import form_of

    return await form_of(request) or {}


def _done(label: str, phone: str = "") -> RedirectResponse:
    return RedirectResponse(f"/people?done={label}&id={quote(phone)}", status_code=303)


@router.post("/people/optouts")
async def add_opt_out(request: Request, who: OptOuts) -> Response:
    from gateway.desk.people import opt_out, phone_number
    from gateway.web.auth import store_of

    form = await _form(request)
    try:
        phone = phone_number(request.app.state.config, form.get("phone", ""))
        await opt_out(store_of(request), phone, actor=who.name)
    except GatewayError as exc:
        return await show(request, who, status=422, error=str(exc), typed={"phone": form.get("phone", "")})
    return _done("opted_out", phone)


@router.post("/people/optouts/remove")
async def remove_opt_out(request: Request, who: OptOuts) -> Response:
    from gateway.desk.people import opt_in, phone_number
    from gateway.web.auth import store_of

    form = await _form(request)
    try:
        phone = phone_number(request.app.state.config, form.get("phone", ""))
        await opt_in(store_of(request), phone, actor=who.name)
    except GatewayError as exc:
        return await show(request, who, status=422, error=str(exc))
    return _done("opt_out_removed", phone)


@router.post("/people/contacts/remove")
async def remove_contact(request: Request, who: Contacts) -> Response:
    from gateway.desk.people import drop_contact, phone_number
    from gateway.web.auth import store_of

    form = await _form(request)
    try:
        phone = phone_number(request.app.state.config, form.get("phone", ""))
        await drop_contact(store_of(request), phone, actor=who.name)
    except GatewayError as exc:
        return await show(request, who, status=422, error=str(exc))
    return _done("contact_removed", phone)


@router.post("/people/import")
async def import_file(request: Request, who: Importer) -> Response:
    """The uploaded CSV into the contacts (and the group, if one is named): the report by line."""
    from gateway.broadcast.audience import import_contacts
    from gateway.desk.people import group_name

    upload = request.state.upload
    group_text = upload.fields.get("group", "").strip()
    typed = {"group": group_text}
    filename, data = upload.files.get("file", ("", b""))
    if not filename or not data:
        return await show(request, who, status=422, error="choose_file", typed=typed)
    folder = Path(tempfile.mkdtemp(prefix="gateway-import-"))  # 0700: this user's only
    path = folder / (SAFE_NAME.sub("_", Path(filename).name).strip("._") or "contacts.csv")
    try:
        path.write_bytes(data)
        path.chmod(0o600)
        group = group_name(group_text) if group_text else None
        done = await import_contacts(request.app.state.config, path, group, actor=who.name)
    except GatewayError as exc:
        return await show(request, who, status=422, error=str(exc).replace(str(path), path.name), typed=typed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report = {
        "file": path.name, "group": group, "rows": done.rows, "new": done.new, "updated": done.updated,
        "problems": done.problems, "problem_count": done.problem_count, "duplicates": done.duplicates,
        "duplicate_count": done.duplicate_count,
    }  # fmt: skip
    return await show(request, who, report=report)
