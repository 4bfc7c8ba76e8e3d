"""CRM sync throughput: queued tickets pushed to the reference receiver on loopback.

The receiver (``gateway crm-stub``) runs in its own process, checking token and
signature and storing every ticket in its own SQLite file, as a CRM would. The
queue is filled directly in SQL (setup, not measured); the push is the real
``SyncService.cycle()``: batches written down before they are sent, signed,
answers applied in transactions. Reported: seconds, tickets a second, and the
CRM's duplicate count (must be 0). Target for 100,000 tickets: <= 20 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from gateway.catalogue import load_catalogue
from gateway.config import Config, CrmConfig, SiteConfig
from gateway.lockfile import holder_name
from gateway.refs import format_ref
from gateway.store import Store
from gateway.sync import SyncService

TOKEN, SECRET = "bench-token", "bench-secret"


def run(quick: bool = False) -> dict[str, Any]:
    tickets = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="gw-bench-sync-") as tmp:
        return asyncio.run(_case(Path(tmp), tickets))


async def _case(directory: Path, count: int) -> dict[str, Any]:
    database = directory / "gw.db"
    await _fill(database, count)
    port = _free_port()
    env = {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}
    stub = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "crm-stub", "--port", str(port), "--store", str(directory / "crm.db")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url)
        crm = CrmConfig(url=url, token=TOKEN, secret=SECRET, batch_size=100, timeout=30.0)
        config = Config(site=SiteConfig(id="12"), crm=crm).with_database(database)
        async with await Store.open(database, site="12") as store:
            service = SyncService(store, config, load_catalogue(), holder=holder_name("bench"))
            cpu0, t0 = time.process_time(), time.perf_counter()
            report = await service.cycle()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            left = (await store.sync_counts())["queued"]
        stats = _stats(url)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    return {
        "tickets": count,
        "batch_size": 100,
        "seconds": round(elapsed, 2),
        "tickets_per_s": round(count / elapsed, 1),
        "gateway_cpu_ms_per_ticket": round(cpu * 1000 / count, 3),
        "synced": report.synced,
        "left_queued": left,
        "crm_records": stats["records"],
        "crm_duplicates": stats["duplicates"],
        "target_s": 20.0 * count / 100_000,
    }


async def _fill(database: Path, count: int) -> None:
    """``count`` queued tickets, as intake would have left them (schema by the real migrations)."""
    async with await Store.open(database, site="12"):
        pass
    conn = sqlite3.connect(database)
    try:
        rows = (
            (
                f"12-BENCH{i:020d}",
                format_ref("12", i),
                i,
                "12",
                f"+98912{i:07d}",
                "outage",
                "1",
                str(40000 + i),
                f"قطع {40000 + i}",
                "fa",
                "open",
                "2026-11-23T08:00:00.000+00:00",
                "m1",
            )
            for i in range(1, count + 1)
        )
        conn.executemany(
            """INSERT INTO tickets (id, ref, seq, site, phone, category, code, account, text, language, status,
                                    received_at, modem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        conn.commit()
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the CRM stub did not start")


def _stats(url: str) -> dict[str, int]:
    request = urllib.request.Request(url + "/_stub/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]
