"""``gateway tickets list --status open`` on a database of 1,000,000 tickets.

The schema comes from the real migrations (``Store.open``); the tickets are
written in SQL as setup (months of them, most no longer open). Timed: the query
the CLI runs, in-process (``Store.tickets``), and the function the command calls
(``desk.operations.list_tickets``: open the database, query, close) -- each the median
of several runs after a first, cold one -- then the whole CLI as its own process,
and for reference the CLI's start-up alone (``gateway --help``). Target: <= 100 ms.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.config import Config, SiteConfig
from gateway.conversation.refs import format_ref
from gateway.desk.operations import list_tickets
from gateway.store import Store

TARGET_MS = 100.0
RUNS = 7
SITE = "12"
# status shares of a mature database: most tickets are done with
STATUSES = ("resolved",) * 6 + ("closed",) * 2 + ("in_progress", "open")


def run(quick: bool = False) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="gw-bench-scale-") as tmp:
        database = Path(tmp) / "gw.db"
        started = time.perf_counter()
        asyncio.run(_migrate(database))
        _fill(database, count)
        build_s = time.perf_counter() - started
        open_count = _count_open(database)
        config = Config(site=SiteConfig(id=SITE)).with_database(database)
        query = asyncio.run(_time_query(database))
        function = _time_calls(lambda: list_tickets(config, "open", 50, None))
        cli_command = [sys.executable, "-m", "gateway.cli"]
        cli = _time_cli([*cli_command, "tickets", "list", "--status", "open", "--db", str(database)])
        startup = _time_cli([*cli_command, "--help"])
    return {
        "tickets": count,
        "open_tickets": open_count,
        "build_s": round(build_s, 1),
        "query_ms": query,
        "list_tickets_ms": function,
        "cli_process_ms": cli,
        "cli_startup_ms": startup,
        "target_ms": TARGET_MS,
        "met": function["median"] <= TARGET_MS,
    }


async def _migrate(database: Path) -> None:
    async with await Store.open(database, site=SITE):
        pass


def _fill(database: Path, count: int) -> None:
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # setup only: nothing here needs to survive a power cut
        with conn:
            conn.executemany(
                """INSERT INTO tickets (id, ref, seq, site, phone, category, code, account, text, language, status,
                                        received_at, modem, sync_status)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                _rows(count),
            )
    finally:
        conn.close()


def _rows(count: int) -> Iterator[tuple[Any, ...]]:
    """``count`` tickets over the last 180 days, oldest first, as intake writes them."""
    start = datetime.now(UTC) - timedelta(days=180)
    step = timedelta(days=180) / count
    for i in range(1, count + 1):
        at = (start + step * i).isoformat(timespec="milliseconds")
        account = str(40000 + i % 50000)
        yield (f"{SITE}-BENCH{i:020d}", format_ref(SITE, i), i, SITE, f"+98912{i % 10_000_000:07d}", "outage", "1",
               account, f"قطع {account}", "fa", STATUSES[i % len(STATUSES)], at, f"m{i % 8 + 1}", "synced")  # fmt: skip


def _count_open(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        (n,) = conn.execute("SELECT COUNT(*) FROM tickets WHERE status = 'open'").fetchone()
        return int(n)
    finally:
        conn.close()


async def _time_query(database: Path) -> dict[str, float]:
    """Only the query: the store is opened beforehand, untimed."""
    async with await Store.open(database, site=SITE) as store:
        return await _time_async(lambda: store.tickets(status="open", limit=50))


async def _time_async(make: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await make()
        times.append((time.perf_counter() - started) * 1000)
    return {"cold": round(times[0], 1), "median": round(statistics.median(times[1:]), 1), "max": round(max(times), 1)}


def _time_calls(call: Callable[[], Any]) -> dict[str, float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"cold": round(times[0], 1), "median": round(statistics.median(times[1:]), 1), "max": round(max(times), 1)}


def _time_cli(command: list[str]) -> dict[str, float]:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return {"median": round(statistics.median(times), 1), "min": round(min(times), 1)}
