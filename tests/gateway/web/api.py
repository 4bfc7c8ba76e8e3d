"""A real ``gateway serve`` on 127.0.0.1 for tests: the app on uvicorn in the test's event
loop (port 0: a free one), talked to over real HTTP with httpx; tokens and users made with
the library, as ``gateway tokens create`` and ``gateway users add`` make them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from gateway.access.tokens import create_token
from gateway.access.users import add_user
from gateway.config import Config
from gateway.store.rows_access import Actor
from gateway.web.serve import bound_address, server_for

START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
PASSWORD = "correct horse battery staple"


class Api:
    def __init__(self, config: Config, url: str, app: Any = None) -> None:
        self.config = config
        self.url = url
        self.app = app  # the FastAPI app served: its state (a clock to move) for tests that need it
        self.client = httpx.AsyncClient(base_url=url, timeout=10.0)
        self._tokens: dict[str, str] = {}

    async def token(self, role: str, name: str | None = None) -> str:
        """A bearer token with ``role`` (one per name, made on first use)."""
        name = name or f"{role}-token"
        if name not in self._tokens:
            made = await create_token(self.config, name, role=role, actor=Actor.local("root"))
            self._tokens[name] = made.token
        return self._tokens[name]

    async def as_role(self, role: str, name: str | None = None) -> dict[str, str]:
        """Headers that sign a request in with a token of ``role``."""
        return {"Authorization": f"Bearer {await self.token(role, name)}"}

    async def user(self, name: str, role: str, language: str | None = None) -> None:
        await add_user(self.config, name, role=role, password=PASSWORD, language=language, actor=Actor.local("root"))

    async def get(self, path: str, role: str | None = "agent", **kw: Any) -> httpx.Response:
        headers = {**(await self.as_role(role) if role else {}), **kw.pop("headers", {})}
        return await self.client.get(path, headers=headers, **kw)

    async def send(self, method: str, path: str, role: str | None = "agent", **kw: Any) -> httpx.Response:
        headers = {**(await self.as_role(role) if role else {}), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


@asynccontextmanager
async def serving(config: Config) -> AsyncIterator[Api]:
    """``gateway serve`` for ``config`` on a free port of 127.0.0.1, stopped (bounded) after."""
    server = server_for(config, listen="127.0.0.1:0")
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # the error that stopped it
                    raise RuntimeError("gateway serve stopped before it started")
                await asyncio.sleep(0.01)
        host, port = bound_address(server)
        api = Api(config, f"http://{host}:{port}", server.config.app)
        try:
            yield api
        finally:
            await api.client.aclose()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_TIMEOUT)
