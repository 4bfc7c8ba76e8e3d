"""A file sent by a form (``multipart/form-data``), read with the standard library and bounded:
the console's only upload is a contacts CSV (:mod:`.people`). The form's ``csrf_token`` is
one of its fields, so the CSRF check reads it from here (:func:`upload_page`)."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request

from gateway.access.principal import Principal
from gateway.web.auth import address_of
from gateway.web.console.pages import Refused, SignInFirst
from gateway.web.problems import Problem

UPLOAD_MAX = 16 * 1024 * 1024  # bytes: about 150,000 contacts; larger lists: gateway contacts import


@dataclass
class Upload:
    """A form's fields (the first of each name) and its files (name -> (file name, bytes))."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


class TooLarge(Exception):  # the page's answer, 413 (not a GatewayError: nothing of the library's)
    pass


def parse_upload(content_type: str, body: bytes) -> Upload:
    """The parts of a ``multipart/form-data`` body; an empty :class:`Upload` if it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return Upload()
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out = Upload()
    if not message.is_multipart():
        return out
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            out.files.setdefault(name, (filename, data))
        else:
            out.fields.setdefault(name, data.decode("utf-8", "replace"))
    return out


async def read_bounded(request: Request, limit: int = UPLOAD_MAX) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the file is {int(declared)} bytes: at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the file is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def upload_page(action: str) -> Callable[[Request], Awaitable[Principal]]:
    """:func:`~gateway.web.console.pages.page` for a form that sends a file: the session, the
    role's right (before the body is read), then the body (bounded) and its CSRF field. The
    form is at ``request.state.upload``."""
    from gateway.access.roles import ACTIONS
    from gateway.store.audit import behalf_of_request

    async def check(request: Request) -> Principal:
        sessions = request.app.state.sessions
        who: Principal | None = await sessions.principal(request)
        if who is None:
            raise SignInFirst("/")
        if not who.may(action):
            raise Refused(403, "forbidden", f"{who.role} may not {ACTIONS[action]}", who)
        try:
            upload = parse_upload(request.headers.get("content-type", ""), await read_bounded(request))
        except TooLarge as exc:
            raise Refused(413, "too_large", str(exc), who) from None
        request.state.csrf_form = upload.fields.get("csrf_token")
        try:
            sessions.check_csrf(request)
        except Problem as exc:
            raise Refused(403, "refused", exc.detail, who) from None
        request.state.upload = upload
        request.state.principal = who
        behalf_of_request(who.kind, address_of(request))
        return who

    return check
