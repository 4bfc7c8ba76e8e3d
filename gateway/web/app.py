"""The API as one ASGI application: its store, its routes, its error answers and headers.

:func:`create_app` is what ``gateway serve`` runs and what the tests serve on 127.0.0.1.
The store is opened when the app starts and closed when it stops: one process, one pair of
SQLite connections, shared by every request (reads and writes are short transactions; the
daemon, another process, writes beside it through SQLite's lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import __version__
from gateway.web import problems

if TYPE_CHECKING:
    from gateway.config import Config

log = structlog.get_logger(__name__)

API = "/api/v1"
# each area's routes: a module of gateway.web with a `router`, mounted under /api/v1
AREAS = (
    "tickets", "messages", "sims", "send", "broadcasts", "people", "events", "webhooks", "session", "audit", "cap",
    "outages",
)  # fmt: skip
# What every answer says about itself: nothing to sniff, frame or refer; the API's answers
# (customer data) are never cached. The console (issue 15) serves only its own files.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """:data:`SECURITY_HEADERS` on every answer (``Cache-Control: no-store`` on the API's, HSTS
    over https), unless the route set its own. Plain ASGI: it only adds headers to the start
    of the answer, so it costs nothing per request and never buffers a stream (the events)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith(API)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(config: Config) -> FastAPI:
    """The API over ``config``'s database (created and migrated if need be, as the daemon does)."""
    import importlib

    from gateway.web import health
    from gateway.web.sessions import Sessions

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from gateway.store.configured import open_store

        app.state.store = await open_store(config, create=True)
        log.info("serve_started", database=str(config.database_path))
        try:
            yield
        finally:
            await app.state.store.close()
            log.info("serve_stopped")

    app = FastAPI(
        title="SMS fallback gateway",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: the gateway works offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.sessions = Sessions(config.web)  # the console's sign-in: cookie, CSRF, the sign-in limit
    problems.install(app)

    app.add_middleware(SecurityHeaders)

    app.include_router(health.router)
    for area in AREAS:
        app.include_router(importlib.import_module(f"gateway.web.{area}").router, prefix=API)
    from gateway.web import console

    console.install(app)  # the console's pages at /, on the API's sessions (docs/console.md)
    return app
