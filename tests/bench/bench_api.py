"""``GET /api/v1/tickets?status=open&limit=50`` over 1,000,000 tickets, through real HTTP.

The database is built as ``bench_scale`` builds it (the real migrations, then months of
tickets written in SQL as setup, most no longer open). The API is served by uvicorn in this
process on 127.0.0.1 (``gateway.web.serve.server_for``, as ``gateway serve`` runs it) and asked
with httpx over loopback with a real bearer token: one client after another (the latency an
agent's page sees), then several at once (a desk of agents), each request timed from send to
the last byte of the answer. Pages: the first page of open tickets, the next page through the
cursor, and the newest 50 of all. Target: p95 <= 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.access.tokens import create_token
from gateway.config import Config, SiteConfig
from gateway.store.rows_access import Actor
from gateway.web.serve import bound_address, server_for
from tests.bench import bench_scale

TARGET_P95_MS = 50.0
SITE = "12"
REQUESTS = 300  # per case, one client
CONCURRENT = 8  # clients at once in the desk case
TICKETS = "/api/v1/tickets"


def run(quick: bool = False) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="gw-bench-api-") as tmp:
        database = Path(tmp) / "gw.db"
        started = time.perf_counter()
        asyncio.run(bench_scale._migrate(database))
        bench_scale._fill(database, count)
        build_s = time.perf_counter() - started
        config = Config(site=SiteConfig(id=SITE)).with_database(database)
        cases = asyncio.run(_measure(config, 100 if quick else REQUESTS))
    return {
        "tickets": count,
        "open_tickets": count // len(bench_scale.STATUSES),
        "build_s": round(build_s, 1),
        "cases": cases,
        "target_p95_ms": TARGET_P95_MS,
        "met": all(c["p95_ms"] <= TARGET_P95_MS for c in cases),
    }


async def _measure(config: Config, requests: int) -> list[dict[str, Any]]:
    token = (await create_token(config, "bench", role="agent", actor=Actor.local("bench"))).token
    server = server_for(config, listen="127.0.0.1:0")
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.01)
        host, port = bound_address(server)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", headers=headers, timeout=30) as client:
            first = await client.get(TICKETS, params={"status": "open", "limit": 50})
            first.raise_for_status()
            cursor = first.json()["next_cursor"]
            pages = [
                ("open, first page", {"status": "open", "limit": 50}),
                ("open, next page (cursor)", {"status": "open", "limit": 50, "cursor": cursor}),
                ("all, newest 50", {"limit": 50}),
            ]
            out = [await _case(client, label, params, requests, 1) for label, params in pages]
            out.append(await _case(client, f"open, first page, {CONCURRENT} clients at once", pages[0][1],
                                   requests, CONCURRENT))  # fmt: skip
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
    return out


async def _case(
    client: httpx.AsyncClient, label: str, params: dict[str, Any], requests: int, clients: int
) -> dict[str, Any]:
    times: list[float] = []
    shown = 0

    async def one_client(n: int) -> None:
        nonlocal shown
        for _ in range(n):
            started = time.perf_counter()
            r = await client.get(TICKETS, params=params)
            times.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
            shown = len(r.json()["tickets"])

    await one_client(5)  # warm: the first requests fill SQLite's page cache
    times.clear()
    wall = time.perf_counter()
    await asyncio.gather(*(one_client(requests // clients) for _ in range(clients)))
    wall_s = time.perf_counter() - wall
    times.sort()
    return {
        "case": label,
        "clients": clients,
        "requests": len(times),
        "tickets_per_page": shown,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "max_ms": round(times[-1], 1),
        "requests_per_s": round(len(times) / wall_s, 1),
    }
