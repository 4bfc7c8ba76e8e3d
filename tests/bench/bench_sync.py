"""CRM sync throughput: queued tickets pushed to the reference receiver on loopback.

The receiver (``gateway crm-stub``) runs in its own process, checking token and
signature and storing every ticket in its own SQLite file, as a CRM would. The
queue is filled directly in SQL (setup, not measured); the push is the real
``SyncService.cycle()``: batches written down before they are sent, signed,
answers applied in transactions. Reported: seconds, tickets a second, and the
CRM's duplicate count (must be 0). Target for 100,000 tickets: <= 20 s.

Then a backlog of status updates (``updates``): 200,000 waiting at the CRM, each asking
for an SMS, pulled by the real ``SyncService.cycle()`` while a customer's SMS arrives
every 50 ms and is stored, ticketed and answered the way intake does it (two write
transactions on the same store, the reply queued). Reported: how long each of those
took while the backlog was applied -- the longest is how much the backlog delayed a
reply. Target: <= 1 s (issue 12: one write transaction for a whole page held intake
for 48 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from gateway.config import Config, CrmConfig, SiteConfig
from gateway.conversation.keywords import load_catalogue
from gateway.conversation.refs import format_ref
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import UPDATE_CHUNK, UPDATES_LIMIT, SyncService
from gateway.lockfile import holder_name
from gateway.store import InboundItem, NewTicket, Outcome, Store

TOKEN, SECRET = "bench-token", "bench-secret"
INTAKE_EVERY = 0.05  # seconds between customer SMS while the backlog is applied
REPLY_DELAY_TARGET = 1.0  # seconds: the longest a backlog may hold up a customer's SMS and reply


def run(quick: bool = False) -> dict[str, Any]:
    tickets = 10_000 if quick else 100_000
    updates = 20_000 if quick else 200_000
    with tempfile.TemporaryDirectory(prefix="gw-bench-sync-") as tmp:
        result = asyncio.run(_case(Path(tmp), tickets))
    with tempfile.TemporaryDirectory(prefix="gw-bench-sync-updates-") as tmp:
        result["updates"] = asyncio.run(_updates_case(Path(tmp), updates))
    return result


def run_updates(quick: bool = False) -> dict[str, Any]:
    """Only the updates backlog: ``python -c "from tests.bench import bench_sync as b; print(b.run_updates())"``."""
    with tempfile.TemporaryDirectory(prefix="gw-bench-sync-updates-") as tmp:
        return asyncio.run(_updates_case(Path(tmp), 20_000 if quick else 200_000))


async def _case(directory: Path, count: int) -> dict[str, Any]:
    database = directory / "gw.db"
    await _fill(database, count)
    with _crm_stub(directory) as url:
        crm = CrmConfig(url=url, token=TOKEN, secret=SECRET, batch_size=100, timeout=30.0)
        config = Config(site=SiteConfig(id="12"), crm=crm).with_database(database)
        async with await Store.open(database, site="12") as store:
            service = SyncService(store, config, load_catalogue(), holder=holder_name("bench"))
            cpu0, t0 = time.process_time(), time.perf_counter()
            report = await service.cycle()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            left = (await store.sync_counts())["queued"]
        stats = _stats(url)
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


async def _updates_case(directory: Path, count: int) -> dict[str, Any]:
    database = directory / "gw.db"
    await _fill(database, count)
    _fill_updates(directory / "crm.db", count)
    with _crm_stub(directory) as url:
        crm = CrmConfig(url=url, token=TOKEN, secret=SECRET, timeout=30.0)
        config = Config(site=SiteConfig(id="12"), crm=crm).with_database(database)
        async with await Store.open(database, site="12") as store:
            service = SyncService(store, config, load_catalogue(), holder=holder_name("bench"))
            holds = _time_chunks(store)
            t0 = time.perf_counter()
            pull = asyncio.create_task(_drain(service))
            delays: list[float] = []
            index = 0
            while not pull.done():
                index += 1
                delays.append(await _customer_sms(store, index))
                await asyncio.wait({pull}, timeout=INTAKE_EVERY)
            applied, cycles = await pull
            elapsed = time.perf_counter() - t0
            notices = sum((await store.counts())["outbox"].values())
        stats = _stats(url)
    delays.sort()
    worst = delays[-1] if delays else 0.0
    return {
        "updates": count,
        "page_limit": UPDATES_LIMIT,
        "chunk": UPDATE_CHUNK,
        "seconds": round(elapsed, 1),
        "updates_per_s": round(count / elapsed, 1),
        "applied": applied,
        "cycles": cycles,
        "pulls": stats["pulls"],
        "outbox_rows": notices,
        "longest_chunk_ms": round(max(holds, default=0.0) * 1000, 1),
        "customer_sms_during": len(delays),
        "reply_delay_p50_ms": round(delays[len(delays) // 2] * 1000, 1) if delays else None,
        "reply_delay_p99_ms": round(delays[int(len(delays) * 0.99)] * 1000, 1) if delays else None,
        "reply_delay_max_ms": round(worst * 1000, 1),
        "target_ms": REPLY_DELAY_TARGET * 1000,
        "met": worst <= REPLY_DELAY_TARGET and applied == count,
    }


def _time_chunks(store: Store) -> list[float]:
    """Seconds each chunk's write transaction took (the writer is intake's too)."""
    holds: list[float] = []
    apply = store.apply_updates

    async def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await apply(*args, **kwargs)
        finally:
            holds.append(time.perf_counter() - t0)

    store.apply_updates = timed  # type: ignore[method-assign]  # measuring, not changing
    return holds


async def _drain(service: SyncService) -> tuple[int, int]:
    """Cycles, as the daemon's loop runs them, until the backlog is applied: (updates, cycles)."""
    applied = cycles = 0
    while True:
        report = await service.cycle()
        applied, cycles = applied + report.updates, cycles + 1
        if not report.more_updates:
            return applied, cycles


async def _customer_sms(store: Store, index: int) -> float:
    """What intake does with one SMS: store it, then ticket it and queue the reply. Seconds taken."""
    t0 = time.perf_counter()
    item = InboundItem("SM", index, f"PDU-BENCH-{index}", "sms", sender=f"+98935{index:07d}", text=f"1 {50000 + index}")
    await store.add_inbound("m1", [item])
    for message in await store.waiting_messages(limit=10):
        outcome = Outcome(
            "person", message.sender, "ticket", "fa",
            ticket=NewTicket("outage", "1", str(50000 + index), partial(format_ref, store.site)),
            reply=lambda ref: f"request {ref} registered",
        )  # fmt: skip
        await store.complete_message(message, outcome)
    return time.perf_counter() - t0


def _fill_updates(crm_database: Path, count: int) -> None:
    """``count`` status updates waiting at the CRM, one per ticket of :func:`_fill`, each asking for an SMS."""
    CrmStub(crm_database).close()  # the receiver's schema
    conn = sqlite3.connect(crm_database)
    try:
        rows = (
            ("12", f"12-BENCH{i:020d}", json.dumps({"id": f"12-BENCH{i:020d}", "status": "resolved", "notify": True}))
            for i in range(1, count + 1)
        )
        conn.executemany("INSERT INTO updates (site, ticket_id, update_) VALUES (?, ?, ?)", rows)
        conn.commit()
    finally:
        conn.close()


@contextlib.contextmanager
def _crm_stub(directory: Path) -> Iterator[str]:
    """``gateway crm-stub`` in a process of its own, storing in ``directory``: its URL."""
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
        yield url
    finally:
        _stop(stub)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


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
