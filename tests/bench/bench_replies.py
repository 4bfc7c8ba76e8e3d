"""Replies first, under operator limits and faults (issue 12, items 9 and 10).

``replies``: customers text while a 10,000-recipient broadcast runs on 4 emulated SIMs at
``per_minute = 10`` and 0.5 s a send. Each reply's latency is taken as in the latency
benchmark: from the ``+CMTI`` the modem emitted to the reply's ``AT+CMGS`` reaching a modem
(both in the emulator process). The broadcast alone would use every SIM's minute; replies
keep a share of it (``reply_reserve``, at least one part), so a reply waits at most for a
send in progress. Measured over a window of the broadcast (it would take hours at these
quotas), beside the same run without a reserve. Target: p95 <= 0.5 s + 150 ms.

``failover``: 30 customers text at once, spread over 4 modems, one of which answers
``+CMS ERROR: 38`` (network out of order) to every send. A reply that fails there goes to a
healthy SIM at once, and the failing SIM gets no more replies while the others have quota.
Figure: the healthy SIMs' physical limit (30 replies over 3 SIMs at 0.5 s a send) over the
time from the burst to the last reply accepted. Target: >= 0.8.

Both run the real daemon (``gateway run``) as its own process, against emulated modems in a
process of their own (``python -m tests.bench.emulators``, with ``--fail`` for the faulty SIM).
"""

from __future__ import annotations

import math
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import daemons
from .bench_latency import _latencies
from .emulators import EmulatorProcess

SEND_S = 0.5
PER_MINUTE = 10
MODEMS = 4
RECIPIENTS = 10_000
REPLY_RATE = 0.1  # customers a second (Poisson): 6 a minute, within the bank's reserve of 8
TARGET_P95_MS = SEND_S * 1000 + 150
FAILOVER_REPLIES = 30
FAILOVER_TARGET = 0.8
FAILING = {MODEMS: 38}  # the last modem answers +CMS ERROR: 38 to every send
READY_TIMEOUT = 90.0
BROADCAST_PREFIX = "+98935"

Progress = Callable[[str], None]


def run_replies(quick: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    window = 120.0 if quick else 360.0
    cases = [("with the reserve (reply_reserve = 0.2)", 0.2, window),
             ("without a reserve (reply_reserve = 0)", 0.0, window / 2)]  # fmt: skip
    results = []
    for label, reserve, seconds in cases:
        if progress:
            progress(f"replies during a broadcast: {label}, {seconds:g} s")
        try:
            results.append({"case": label, **_replies_case(reserve, seconds)})
        except (TimeoutError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
            results.append({"case": label, "reply_reserve": reserve, "error": f"{type(exc).__name__}: {exc}"})
    return {"results": results, "target_p95_ms": TARGET_P95_MS, "measured_at": _now()}


def run_failover(quick: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    rounds = []
    for i in range(1 if quick else 3):
        if progress:
            progress(f"failover: round {i + 1}, {FAILOVER_REPLIES} replies, 1 of {MODEMS} modems failing")
        try:
            rounds.append(_failover_round(i))
        except (TimeoutError, RuntimeError, OSError) as exc:
            rounds.append({"error": f"{type(exc).__name__}: {exc}"})
    ratios = sorted(r["ratio_to_limit"] for r in rounds if "ratio_to_limit" in r)
    return {
        "rounds": rounds,
        "median_ratio": ratios[len(ratios) // 2] if ratios else None,
        "target_ratio": FAILOVER_TARGET,
        "modems": MODEMS,
        "failing": f"m{MODEMS}: +CMS ERROR: {FAILING[MODEMS]} on every send",
        "send_s": SEND_S,
        "replies": FAILOVER_REPLIES,
        "measured_at": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- replies during a broadcast


def _replies_case(reserve: float, window: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gw-bench-replies-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", MODEMS, SEND_S) as bank:
            daemon = QuotaDaemon(root, reply_reserve=reserve)
            try:
                daemon.start(bank.links)
                bank.wait_seen(daemon.ready_prefix, READY_TIMEOUT)
                _contacts(daemon.database, RECIPIENTS)
                _broadcast(daemon.config_path)
                _wait_broadcasting(bank, MODEMS * 2)
                started = time.time()
                emitted = _customers(bank, window)
                ended = time.time()
                _wait_answered(bank, set(emitted), timeout=90.0)
                sent = bank.sent()
            finally:
                daemon.stop()
    broadcast = [t for modem in sent for n, c, t in modem if _is_broadcast(n) and started <= c <= ended]
    return {
        "reply_reserve": reserve,
        "modems": MODEMS,
        "send_s": SEND_S,
        "per_minute": PER_MINUTE,
        "recipients": RECIPIENTS,
        "window_s": window,
        "reply_rate_per_min": REPLY_RATE * 60,
        **_latencies(emitted, sent),
        "broadcast_parts_in_window": len(broadcast),
        "broadcast_per_min": round(len(broadcast) / (ended - started) * 60, 1),
        "max_parts_per_sim_minute": max(_busiest_minute([a for _, _, a in modem]) for modem in sent),
        "max_broadcast_parts_per_sim_minute": max(
            _busiest_minute([a for n, _, a in modem if _is_broadcast(n)]) for modem in sent
        ),
    }


def _is_broadcast(number: str) -> bool:
    return number.lstrip("+").startswith(BROADCAST_PREFIX[1:])


def _busiest_minute(times: list[float]) -> int:
    """The most sends in any rolling minute."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 60.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _contacts(database: Path, count: int) -> None:
    conn = sqlite3.connect(database, timeout=60)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO contacts (phone, language, area, updated_at) VALUES (?, 'fa', 'north', '2026-11-23')",
                ((f"{BROADCAST_PREFIX}{i:07d}",) for i in range(count)),
            )
            conn.executemany(
                "INSERT INTO contact_groups (name, phone) VALUES ('all', ?)",
                ((f"{BROADCAST_PREFIX}{i:07d}",) for i in range(count)),
            )
    finally:
        conn.close()


def _broadcast(config: Path) -> None:
    """``gateway broadcast`` as an operator runs it: the daemon's campaign service sends it."""
    command = [sys.executable, "-m", "gateway.cli", "broadcast", "--template", "restored", "--var", "area=North",
               "--group", "all", "-c", str(config), "--yes"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gateway broadcast failed: {done.stderr.strip() or done.stdout.strip()}")


def _wait_broadcasting(bank: EmulatorProcess, parts: int) -> None:
    deadline = time.monotonic() + 60.0
    while sum(bank.stats()["sent"]) < parts:
        if time.monotonic() > deadline:
            raise TimeoutError("the broadcast did not start within 60 s")
        time.sleep(0.1)


def _customers(bank: EmulatorProcess, window: float) -> dict[str, float]:
    """Customers text ``1 <account>`` for ``window`` seconds (Poisson, round robin over the
    modems); returns phone -> when its +CMTI was emitted."""
    rng = random.Random(12)
    emitted: dict[str, float] = {}
    start = due = time.monotonic()
    i = 0
    while True:
        due += rng.expovariate(REPLY_RATE)
        if due - start > window:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        phone = f"+98912{5000000 + i:07d}"
        emitted[phone] = bank.sms(i % bank.modems + 1, phone, f"1 {40000 + i}")
        i += 1
    return emitted


def _wait_answered(bank: EmulatorProcess, phones: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = {n if n.startswith("+") else "+" + n for modem in bank.sent() for n, _, _ in modem}
        if phones <= answered:
            return
        time.sleep(0.5)


# ---------------------------------------------------------------- a failing SIM


def _failover_round(seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gw-bench-failover-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", MODEMS, SEND_S, failing=FAILING) as bank:
            daemon = QuotaDaemon(root)
            try:
                daemon.start(bank.links)
                bank.wait_seen(daemon.ready_prefix, READY_TIMEOUT)
                time.sleep(1.0)
                customers = [(i % MODEMS + 1, f"+98912{6000000 + 100 * seed + i:07d}", f"1 {50000 + i}")
                             for i in range(FAILOVER_REPLIES)]  # fmt: skip
                at = bank.burst(customers)
                bank.wait_sent(FAILOVER_REPLIES, timeout=120.0)
                sent = bank.sent()
                attempts = bank.request({"op": "attempts"})["attempts"]
            finally:
                daemon.stop()
    accepted = sorted(a for modem in sent for _, _, a in modem)
    if len(accepted) < FAILOVER_REPLIES:
        raise TimeoutError(f"only {len(accepted)} of {FAILOVER_REPLIES} replies sent within 120 s")
    elapsed = accepted[FAILOVER_REPLIES - 1] - at
    healthy = MODEMS - len(FAILING)
    physical = math.ceil(FAILOVER_REPLIES / healthy) * SEND_S
    return {
        "seconds": round(elapsed, 2),
        "physical_limit_s": physical,
        "ratio_to_limit": round(physical / elapsed, 3),
        "sent_per_modem": [len(modem) for modem in sent],
        "attempts_on_failing_sim": attempts[MODEMS - 1],
    }


# ---------------------------------------------------------------- the daemon and the modems


class QuotaDaemon(daemons.Ours):
    """Ours with the operator limits of the scenario (the throughput benchmarks lift them)."""

    def __init__(self, directory: Path, *, reply_reserve: float = 0.2, per_day: int = 500) -> None:
        super().__init__(directory)
        self.reply_reserve = reply_reserve
        self.per_day = per_day

    def _config(self, links: list[Path]) -> str:
        modems = "".join(
            f'\n[[modems]]\nid = "m{i}"\nport = "{link}"\nnumber = "+9891200{i:05d}"\n'
            f"sweep_interval = {self.sweep_interval}\nhealth_interval = {self.health_interval}\n"
            for i, link in enumerate(links, start=1)
        )
        return (
            f'[site]\nid = "9"\n\n[storage]\ndatabase = "{self.database}"\n\n[logging]\nlevel = "warning"\n'
            f'format = "json"\n\n[quotas]\nper_minute = {PER_MINUTE}\nper_day = {self.per_day}\n'
            f"reply_reserve = {self.reply_reserve}\n{modems}"
        )
