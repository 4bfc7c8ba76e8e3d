"""A request's JSON body, read only after the caller is known (:mod:`gateway.web.auth`):
FastAPI reads a declared body before any dependency runs, so a client without the right
would learn about its body (422) before learning it may not (403). A route takes its body as
a dependency declared after :func:`gateway.web.auth.need` instead, and documents it with
:func:`documented` for the OpenAPI schema."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from gateway.web.problems import Problem, field_name

M = TypeVar("M", bound=BaseModel)
BODY_MAX = 64 * 1024  # bytes: the largest request body a desk action needs, with room to spare


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency: the body as ``model``, or a 422 naming the field (413 when too large)."""

    async def parse(request: Request) -> M:
        raw = await request.body()
        if len(raw) > BODY_MAX:
            raise Problem(413, f"the body is {len(raw)} bytes: at most {BODY_MAX}")
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise Problem(422, "the body is not JSON", field="body") from None
        if not isinstance(data, dict):
            raise Problem(422, "the body must be a JSON object", field="body")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = field_name(tuple(first.get("loc", ())))
            message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
            raise Problem(422, f"{name}: {message}", field=name) from None

    return parse


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` with :func:`json_body`."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
