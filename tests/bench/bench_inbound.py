"""Inbound burst: 1,000 customers' SMS arrive at once over 8 modems; time until all are tickets.

Each modem gets its share in one write (every ``+CMTI`` at once); what does not
fit on its SIM (50 messages) the network holds and delivers as the gateway
frees room, as a real network does. The clock runs from the burst until the
database (read-only, polled) holds a ticket for every message; also reported:
when every message was stored, and when every reply was on air.

Side by side, the peers on the same burst, until each has stored every message
in its inbox (files): a weaker milestone than a ticket, they have nothing more.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import daemons
from .emulators import EmulatorProcess

READY_TIMEOUT = 90.0
POLL_S = 0.02


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    messages, modems = (200 if quick else 1000), 8
    unavailable = daemons.ensure_peers()
    names = ["ours", *(n for n, exe in (("gammu-smsd", daemons.GAMMU_SMSD), ("smstools", daemons.SMSD))
                       if exe not in unavailable)]  # fmt: skip
    results = []
    for name in names:
        if progress:
            progress(f"inbound: {name}, {messages} SMS over {modems} modems")
        try:
            results.append(run_case(name, modems, messages))
        except (TimeoutError, RuntimeError, OSError, sqlite3.Error) as exc:
            results.append({"daemon": name, "modems": modems, "messages": messages,
                            "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
    return {"results": results}


def run_case(name: str, modems: int, messages: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"gw-bench-inbound-{name}-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", modems, 0.0) as bank:
            daemon = _daemon(name, root)
            try:
                daemon.start(bank.links)
                bank.wait_seen(daemon.ready_prefix, READY_TIMEOUT)
                time.sleep(1.0)
                burst = [(i % modems + 1, f"+98912{6000000 + i:07d}", f"1 {40000 + i}") for i in range(messages)]
                cpu0 = daemon.cpu_seconds()
                at = bank.burst(burst)
                milestones = _follow(daemon, bank, messages, timeout=120 + messages / 5)
                cpu = daemon.cpu_seconds() - cpu0
            finally:
                daemon.stop()
    times = {k: round(v - at, 3) if v else None for k, v in milestones.items()}
    result: dict[str, Any] = {"daemon": name, "modems": modems, "messages": messages, **times,
                              "cpu_ms_per_message": round(cpu * 1000 / messages, 2)}  # fmt: skip
    for milestone, key in (("all_stored_s", "stored_per_s"), ("all_ticketed_s", "ticketed_per_s")):
        seconds = times.get(milestone)
        if seconds:
            result[key] = round(messages / seconds, 1)
    if times["all_stored_s"] is None or (name == "ours" and times["all_ticketed_s"] is None):
        result["error"] = f"not all {messages} messages were {'ticketed' if name == 'ours' else 'stored'} in time"
    return result


def _daemon(name: str, root: Path) -> daemons.SmsDaemon:
    if name == "gammu-smsd":
        return daemons.GammuSmsd(root)
    if name == "smstools":
        return daemons.Smstools(root)
    return daemons.Ours(root)


def _follow(daemon: daemons.SmsDaemon, bank: EmulatorProcess, count: int, timeout: float) -> dict[str, float | None]:
    """Poll until the milestones are reached: stored (all), ticketed and replied (ours)."""
    ours = isinstance(daemon, daemons.Ours)
    marks: dict[str, float | None] = {"all_stored_s": None}
    if ours:
        marks |= {"first_ticket_s": None, "all_ticketed_s": None, "all_replied_s": None}
    deadline = time.time() + timeout
    while time.time() < deadline and not all(marks.values()):
        now = time.time()
        counts = _our_counts(daemon.database) if isinstance(daemon, daemons.Ours) else {"stored": _files(daemon)}
        if ours:
            counts["replied"] = sum(bank.stats()["sent"])
        _mark(marks, "all_stored_s", counts["stored"] >= count, now)
        if ours:
            _mark(marks, "first_ticket_s", counts["tickets"] >= 1, now)
            _mark(marks, "all_ticketed_s", counts["tickets"] >= count, now)
            _mark(marks, "all_replied_s", counts["replied"] >= count, now)
        time.sleep(POLL_S)
    return marks


def _mark(marks: dict[str, float | None], key: str, reached: bool, now: float) -> None:
    if reached and marks[key] is None:
        marks[key] = now


def _our_counts(database: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        (stored,) = conn.execute("SELECT COUNT(*) FROM messages").fetchone()
        (tickets,) = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
    finally:
        conn.close()
    return {"stored": int(stored), "tickets": int(tickets)}


def _files(daemon: daemons.SmsDaemon) -> int:
    """Messages a peer has stored: files in its inbox(es)."""
    if isinstance(daemon, daemons.Smstools):
        return len(list((daemon.spool / "incoming").iterdir()))
    if isinstance(daemon, daemons.GammuSmsd):
        return len(list(daemon.directory.glob("gammu*/inbox/IN*")))
    return 0
