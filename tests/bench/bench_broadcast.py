"""Broadcast planning and queueing at scale: ``gateway broadcast`` for 1,000,000 recipients.

The contacts (one group) are written in SQL as setup; then the real CLI runs
twice as its own process -- the dry run (audience, languages, opt-outs,
estimate) and the real thing (the campaign's rows written to the outbox) --
each timed, with its peak RSS from the kernel. Target: <= 20 s and <= 200 MB.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.store import Store

TARGET_S, TARGET_MB = 20.0, 200.0


def run(quick: bool = False) -> dict[str, Any]:
    recipients = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="gw-bench-broadcast-") as tmp:
        return _case(Path(tmp), recipients)


def _case(directory: Path, recipients: int) -> dict[str, Any]:
    database = directory / "gw.db"
    asyncio.run(_migrate(database))
    _fill(database, recipients)
    config = directory / "gateway.toml"
    # eight SIMs for the estimate; the command never opens their ports (one port each: two
    # modems on one port is a config error)
    modems = "".join(f'[[modems]]\nid = "m{i}"\nport = "{directory / f"m{i}"}"\n' for i in range(1, 9))
    config.write_text(f'[site]\nid = "1"\n[storage]\ndatabase = "{database}"\n{modems}')
    command = [sys.executable, "-m", "gateway.cli", "broadcast", "--template", "restored", "--var", "area=North",
               "--group", "all", "-c", str(config)]  # fmt: skip
    dry = _measure([*command, "--dry-run"])
    real = _measure([*command, "--yes"])
    conn = sqlite3.connect(database)
    try:
        (queued,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE campaign_id = 1").fetchone()
    finally:
        conn.close()
    return {
        "recipients": recipients,
        "dry_run_s": dry["seconds"],
        "dry_run_peak_rss_mb": dry["peak_rss_mb"],
        "enqueue_s": real["seconds"],
        "enqueue_peak_rss_mb": real["peak_rss_mb"],
        "rows_queued": int(queued),
        "target_s": TARGET_S,
        "target_mb": TARGET_MB,
    }


async def _migrate(database: Path) -> None:
    async with await Store.open(database, site="1"):
        pass


def _fill(database: Path, count: int) -> None:
    conn = sqlite3.connect(database)
    try:
        languages = ("fa", "fa", "fa", "ar", "en")
        conn.executemany(
            "INSERT INTO contacts (phone, language, area, updated_at) VALUES (?, ?, 'north', '2026-11-23')",
            ((f"+98912{i:07d}", languages[i % 5]) for i in range(count)),
        )
        conn.executemany(
            "INSERT INTO contact_groups (name, phone) VALUES ('all', ?)", ((f"+98912{i:07d}",) for i in range(count))
        )
        conn.commit()
    finally:
        conn.close()


def _measure(command: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:6])} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return {"seconds": round(elapsed, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
