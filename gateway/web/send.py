"""``POST /api/v1/messages``: another system hands us an SMS (``messages.send``), queued in the
notification lane as ``gateway send`` queues it (:func:`gateway.outbound.operations.send_message`).

An ``Idempotency-Key`` header makes a retried POST queue it once: the key, per signed-in token
or user, is kept with the answer in the transaction of the outbox row, and the same key again
is answered as the first time (same status, same body, ``Idempotent-Replayed: true``); the
same key with another ``to`` or ``text`` is 409. A refused request (401, 403, 422, 503) keeps
no key: nothing was queued, so a retry is simply tried again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError, MessageTooLong, OptedOut
from gateway.web.app import API
from gateway.web.auth import address_of, need, store_of
from gateway.web.body import documented, json_body
from gateway.web.problems import Problem

router = APIRouter(tags=["send"])

KEY_HEADER = "Idempotency-Key"
KEY_MAX = 255  # characters
KEY_RULE = f"{KEY_HEADER}: 1 to {KEY_MAX} printable ASCII characters (a random UUID is a good key)"


class Outgoing(BaseModel):
    """An SMS to queue."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(description="the mobile number, any rendering (digits in any script); queued as +E.164")
    text: str = Field(description="the message; at most the parts one SIM may send in a minute")


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, or None; 422 when it is not 1-255 printable ASCII characters."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise Problem(422, KEY_RULE, field=KEY_HEADER)
    return key


@router.post(
    "/messages",
    status_code=202,
    openapi_extra=documented(Outgoing),
    responses={409: {"description": f"the {KEY_HEADER} was used for another request"}},
)
async def send_message(
    request: Request,
    who: Annotated[Principal, Depends(need("messages.send"))],
    body: Annotated[Outgoing, Depends(json_body(Outgoing))],
) -> Response:
    """Queue an SMS in the notification lane (the daemon sends it): ``202`` with the outbox row
    as ``gateway send --json`` prints it, its ``to`` and ``encoding``. Refused (422, nothing
    queued): a number that is not a mobile one, a number that sent STOP, an empty text or one
    longer than any SIM may send in a minute. Send ``Idempotency-Key`` to retry safely."""
    from gateway.outbound import operations
    from gateway.store.idempotency import Key

    key = idempotency_key(request)
    config = request.app.state.config
    owned = Key(f"{who.kind}:{who.name}", key) if key is not None else None
    try:
        answer = await operations.send_message(
            store_of(request), config, body.to, body.text, actor=who.actor(address_of(request)), key=owned
        )
    except OptedOut as exc:
        raise Problem(422, f"to: {exc}", field="to") from None
    except GatewayError as exc:
        if exc.__class__ is not GatewayError and not isinstance(exc, MessageTooLong):
            raise  # the database (503), as every route answers it
        field = "text"
        try:
            operations.recipient(config, body.to)
        except GatewayError:
            field = "to"
        raise Problem(422, f"{field}: {exc}", field=field) from None
    if answer.replayed and answer.request != operations.fingerprint(body.to, body.text):
        raise Problem(
            409, f"{KEY_HEADER}: this key was sent before with another to or text; use a new key for a new message",
            field=KEY_HEADER,
        )  # fmt: skip
    headers = {"Location": f"{API}/outbox/{answer.outbox_id}"} if answer.outbox_id is not None else {}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)
