"""``POST /api/v1/messages`` sustained into the outbox, through real HTTP.

``gateway serve`` runs as its own process (``python -m gateway.cli serve -c gateway.toml``, as
systemd runs it) on 127.0.0.1 over a fresh database; this process is the other systems on the
site's network: ``CLIENTS`` clients in :data:`PROCESSES` processes, each with its own
keep-alive connection, POST with an integration token and a fresh ``Idempotency-Key`` each,
one request after another, for ``seconds``; every ``RETRY_EVERY``-th request is a retry of
the one before it (same key, same body), as a client that timed out would send. Then the
outbox is counted: every key queued exactly once (rows = distinct keys, no key twice).
Figures: accepted requests a second, the latency each client saw, the server's CPU per
request (from /proc). Target: >= 500/s.

The clients speak through httpcore, httpx's own HTTP transport, without httpx's conveniences
(URL and header merging, response models): on a small machine the load generator shares the
CPU with the server it measures, and httpx itself would cost twice the server's CPU per request.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpcore
import httpx

from gateway.access.tokens import create_token
from gateway.config import load
from gateway.store.rows_access import Actor

from . import procs

TARGET_PER_S = 500.0
CLIENTS = 32  # connections at once: several systems, each with a few requests in flight
PROCESSES = 2  # client processes (httpx costs more CPU per request than the server: one process would be the limit)
RETRY_EVERY = 10  # every tenth request is a retry of the one before it
MESSAGES = "/api/v1/messages"
TEXTS = ("Power is back in area 3.", "برق منطقه ۳ تا ساعت ۱۸ قطع است.")  # GSM 7-bit and UCS-2


def run(quick: bool = False) -> dict[str, Any]:
    seconds = 3.0 if quick else 10.0
    with tempfile.TemporaryDirectory(prefix="gw-bench-send-") as tmp:
        directory = Path(tmp)
        port = _free_port()
        config_path = directory / "gateway.toml"
        database = directory / "gateway.db"
        config_path.write_text(
            f'[site]\nid = "12"\n\n[storage]\ndatabase = "{database}"\n\n[logging]\nlevel = "warning"\n\n'
            f'[web]\nlisten = "127.0.0.1:{port}"\n'
        )
        config = load(config_path)
        token = asyncio.run(create_token(config, "bench", role="integration", actor=Actor.local("bench"))).token
        command = [sys.executable, "-m", "gateway.cli", "serve", "-c", str(config_path)]
        server = procs.spawn(command, directory / "serve.log", env={**os.environ, "PYTHONHASHSEED": "0"})
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_up(url, server)
            result = _load(url, token, seconds, server.pid)
        finally:
            procs.stop(server)
        result.update(_outbox(database))
    sent = result["accepted"] - result["replayed"]
    result["queued_once"] = result["rows"] == result["distinct_keys"] == sent and not result["keys_twice"]
    result["target_per_s"] = TARGET_PER_S
    result["met"] = result["requests_per_s"] >= TARGET_PER_S and result["queued_once"] and not result["errors"]
    return result


def _load(url: str, token: str, seconds: float, server_pid: int) -> dict[str, Any]:
    """Warm the server up, then :data:`PROCESSES` client processes at once for ``seconds``."""
    asyncio.run(_clients(url, token, range(900, 900 + CLIENTS), "w", time.time(), 1.0))  # warm-up
    start_at = time.time() + 3.0  # every client process started (imports done) by then
    per = CLIENTS // PROCESSES
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = [pool.submit(_client_process, url, token, i * per, per, start_at, seconds) for i in range(PROCESSES)]
        time.sleep(max(0.0, start_at - time.time()))
        cpu_before = procs.tree_cpu_seconds(server_pid)
        parts = [r.result(timeout=seconds + 120) for r in runs]
        cpu_s = procs.tree_cpu_seconds(server_pid) - cpu_before
    times = sorted(t for part in parts for t in part["times"])
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part["statuses"].items():
            statuses[int(status)] = statuses.get(int(status), 0) + count
    wall_s = max(part["ended"] for part in parts) - start_at
    n = max(len(times), 1)
    return {
        "clients": CLIENTS,
        "client_processes": PROCESSES,
        "seconds": round(wall_s, 2),
        "requests": len(times),
        "accepted": statuses.get(202, 0),
        "replayed": sum(part["replayed"] for part in parts),
        "requests_per_s": round(len(times) / wall_s, 1),
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1) if times else None,
        "max_ms": round(times[-1], 1) if times else None,
        "server_cpu_ms_per_request": round(cpu_s * 1000 / n, 3),
        "client_cpu_ms_per_request": round(sum(part["cpu_s"] for part in parts) * 1000 / n, 3),
        "errors": [e for part in parts for e in part["errors"]][:5],
    }


def _client_process(url: str, token: str, first: int, count: int, start_at: float, seconds: float) -> dict[str, Any]:
    """One client process: ``count`` connections from client number ``first``, from ``start_at`` for ``seconds``."""
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    out = asyncio.run(_clients(url, token, range(first, first + count), "c", start_at, seconds))
    out["cpu_s"] = time.process_time() - cpu
    out["ended"] = time.time()
    return out


async def _clients(
    url: str, token: str, numbers: range, prefix: str, start_at: float, seconds: float
) -> dict[str, Any]:
    """Clients ``numbers``, each on a connection of its own, POSTing one request after another
    until ``start_at + seconds``; every :data:`RETRY_EVERY`-th request a retry of the one before."""
    auth = [(b"Authorization", f"Bearer {token}".encode()), (b"Content-Type", b"application/json")]
    target = f"{url}{MESSAGES}"
    times: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    replayed = 0
    deadline = time.perf_counter() + (start_at + seconds - time.time())

    async def client(n: int) -> None:
        nonlocal replayed
        async with httpcore.AsyncConnectionPool(max_connections=1) as http:
            i = 0
            while time.perf_counter() < deadline:
                seq = i - 1 if i > 0 and i % RETRY_EVERY == 0 else i
                body = json.dumps({"to": f"0912{n:03d}{seq % 10_000:04d}", "text": TEXTS[seq % 2]}).encode()
                headers = [*auth, (b"Idempotency-Key", f"{prefix}{n}-{seq}".encode())]
                started = time.perf_counter()
                try:
                    r = await http.request("POST", target, headers=headers, content=body)
                except httpcore.NetworkError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return
                times.append((time.perf_counter() - started) * 1000)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status != 202:
                    errors.append(f"{r.status}: {r.content[:200]!r}")
                elif any(name.lower() == b"idempotent-replayed" for name, _ in r.headers):
                    replayed += 1
                i += 1

    await asyncio.gather(*(client(n) for n in numbers))
    return {"times": times, "statuses": statuses, "errors": errors, "replayed": replayed}


def _outbox(database: Path) -> dict[str, Any]:
    """The rows the measured clients queued (not the warm-up's): rows, distinct keys, keys twice."""
    conn = sqlite3.connect(database)
    try:
        rows = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE id IN (SELECT outbox_id FROM idempotency_keys WHERE key LIKE 'c%')"
        ).fetchone()[0]
        keys = conn.execute("SELECT COUNT(*) FROM idempotency_keys WHERE key LIKE 'c%'").fetchone()[0]
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT outbox_id FROM idempotency_keys GROUP BY outbox_id HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        queued = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND lane = 'notification'")
        return {"rows": rows, "distinct_keys": keys, "keys_twice": twice, "outbox_total": queued.fetchone()[0]}
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, server: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gateway serve stopped (exit {server.returncode}) before it answered")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("gateway serve did not answer /health in time")
