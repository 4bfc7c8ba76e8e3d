"""An event-stream client for the tests: ``GET /api/v1/events`` over real HTTP, read line by
line in a task of its own, each event kept as (id, type, data)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.gateway.harness import eventually


class Listener:
    def __init__(self, client: httpx.AsyncClient, token: str, *, params: Any = None, last: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", **({"Last-Event-ID": last} if last else {})}
        self.request = client.build_request("GET", "/api/v1/events", params=params, headers=headers)
        self.client = client
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.raw: list[str] = []  # the data lines as sent
        self.comments = 0
        self.ended = asyncio.Event()  # the server ended the stream
        self.response: httpx.Response | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listener:
        self.response = await self.client.send(self.request, stream=True)
        assert self.response.status_code == 200, (await self.response.aread()).decode()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self._task = asyncio.create_task(self._read())
        await eventually(lambda: self.comments > 0, timeout=5)  # the opening comment: it is listening
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.response is not None:
            await self.response.aclose()

    async def _read(self) -> None:
        assert self.response is not None
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "data" in fields:
                        self.raw.append(fields["data"])
                        self.events.append((fields["id"], fields["event"], json.loads(fields["data"])))
                    fields = {}
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except httpx.HTTPError:
            pass
        self.ended.set()

    def types(self) -> list[str]:
        return [kind for _, kind, _ in self.events]

    def ids(self) -> list[str]:
        return [i for i, _, _ in self.events]
