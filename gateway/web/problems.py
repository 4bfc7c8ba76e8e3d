"""Errors as ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status`` and a
``detail`` that names the problem and, where one field is at fault, ``field``.

Library errors keep their words (they name request fields, not CLI flags); an unexpected
error is logged with its traceback and answered 500 with nothing of the request in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.exceptions import GatewayError, NotFound, StoreError, TicketChanged

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
BUSY_RETRY = 2  # seconds a client is told to wait when the database is busy


class Problem(Exception):
    """Answer the request with this status and detail (raised anywhere in a route)."""

    def __init__(
        self, status: int, detail: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = dict(headers or {})


def problem_response(
    status: int, detail: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def status_of(exc: GatewayError) -> int:
    """What a library error means over HTTP: 404 not found, 409 changed meanwhile, 503 the
    database (busy, missing), 422 anything else the library refused as asked."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, TicketChanged):
        return 409
    if isinstance(exc, StoreError):
        return 503
    return 422


def field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "vars", "area")`` -> ``vars.area``; ``("query", "limit")`` -> ``limit``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Every error the app can meet answered as a problem."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.detail, field=exc.field, headers=exc.headers)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        name = field_name(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return problem_response(422, f"{name}: {message}", field=name)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}"
        return problem_response(exc.status_code, detail, headers=exc.headers)

    async def on_gateway(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        status = status_of(exc)
        if status == 503:
            log.warning("api_database_unavailable", path=request.url.path, error=str(exc))
            return problem_response(503, "the database is busy or unavailable: try again",
                                    headers={"Retry-After": str(BUSY_RETRY)})  # fmt: skip
        return problem_response(status, exc.wording.naming())

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api_error", method=request.method, path=request.url.path)
        return problem_response(500, "the gateway met an error it did not expect; it is in the log")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(GatewayError, on_gateway)
    app.add_exception_handler(Exception, on_crash)
