"""Reply latency: from the modem emitting ``+CMTI`` to the reply's ``AT+CMGS`` reaching it.

Customers (each a different phone) text ``1 <account>`` -- an outage report: the
gateway reads the SMS, stores it, opens a ticket and answers. Arrivals are a
Poisson stream (fixed seed; random phases against the peers' polling loops)
dealt round robin over the modems. Both times are taken in the emulator process:
just after the ``+CMTI`` was written (injection writes it at once) and when the
``AT+CMGS`` line arrived (``SentPdu.command_at``). Target for ours on 4 modems at
0 s per send: p95 <= 150 ms.

Side by side, at light load on one modem, the peers' receive-to-send path: they
have no conversation of their own, so each gets a one-line hook that drops a
reply file for the sender (gammu-smsd ``RunOnReceive``, smsd ``eventhandler``) --
their fastest possible answer, without any ticketing.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import daemons
from .emulators import EmulatorProcess

TARGET_P95_MS = 150.0
READY_TIMEOUT = 90.0
PEER_REPLY = "Thank you. Your report is registered."


@dataclass(frozen=True)
class LatencyCase:
    daemon: str
    modems: int
    messages: int
    rate: float  # mean arrivals a second (Poisson)


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    main = LatencyCase("ours", 4, 200 if quick else 1000, 20.0)
    unavailable = daemons.ensure_peers()
    light = [
        LatencyCase(name, 1, 8 if quick else 20, 0.5)
        for name, exe in (("ours", "ours"), ("gammu-smsd", daemons.GAMMU_SMSD), ("smstools", daemons.SMSD))
        if exe not in unavailable
    ]
    results = []
    for case in [main, *light]:
        if progress:
            progress(f"latency: {case.daemon}, {case.modems} modem(s), {case.messages} msgs at {case.rate:g}/s")
        try:
            results.append(run_case(case))
        except (TimeoutError, RuntimeError, OSError) as exc:
            results.append({**_describe(case), "error": f"{type(exc).__name__}: {exc}"})
    return {"main": results[0], "light_load": results[1:], "target_p95_ms": TARGET_P95_MS}


def run_case(case: LatencyCase) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"gw-bench-latency-{case.daemon}-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", case.modems, 0.0) as bank:
            daemon = _daemon(case.daemon, root)
            try:
                daemon.start(bank.links)
                bank.wait_seen(daemon.ready_prefix, READY_TIMEOUT)
                time.sleep(1.0)
                emitted = _deliver(bank, case)
                bank.wait_sent(case.messages, timeout=60 + case.messages / 2)
                sent = bank.sent()
                config = daemon.configs()
            finally:
                daemon.stop()
    return {**_describe(case), **_latencies(emitted, sent), "config": config}


def _daemon(name: str, root: Path) -> daemons.SmsDaemon:
    if name == "gammu-smsd":
        return daemons.GammuSmsd(root, run_on_receive=daemons.gammu_reply_hook(root / "reply.sh", PEER_REPLY))
    if name == "smstools":
        hook = daemons.smstools_reply_hook(root / "reply.sh", PEER_REPLY, root / "spool")
        return daemons.Smstools(root, eventhandler=hook)
    return daemons.Ours(root)


def _deliver(bank: EmulatorProcess, case: LatencyCase) -> dict[str, float]:
    """Text the gateway at the case's pace; returns phone -> when its +CMTI was emitted."""
    rng = random.Random(7)
    emitted: dict[str, float] = {}
    due = time.monotonic()
    for i in range(case.messages):
        due += rng.expovariate(case.rate)
        time.sleep(max(0.0, due - time.monotonic()))
        phone = f"+98912{5000000 + i:07d}"
        emitted[phone] = bank.sms(i % case.modems + 1, phone, f"1 {40000 + i}")
    return emitted


def _latencies(emitted: dict[str, float], sent: list[list[tuple[str, float, float]]]) -> dict[str, Any]:
    """Per phone: its reply's first AT+CMGS minus its +CMTI, in ms."""
    first: dict[str, float] = {}
    for modem in sent:
        for number, command_at, _ in modem:
            number = number if number.startswith("+") else "+" + number
            if number in emitted and number not in first:
                first[number] = command_at
    answered = sorted((first[p] - emitted[p]) * 1000 for p in first)
    # an unanswered message is slower than any answered one: it counts as infinitely late
    samples = answered + [math.inf] * (len(emitted) - len(answered))
    out: dict[str, Any] = {"answered": len(answered), "unanswered": len(emitted) - len(answered)}
    if samples:
        out.update({f"p{q}_ms": _ms(_percentile(samples, q)) for q in (50, 95, 99)})
        out.update({"mean_ms": _ms(sum(answered) / len(answered)) if answered else None, "max_ms": _ms(samples[-1])})
    return out


def _ms(value: float) -> float | None:
    """Rounded, or None for a message never answered (JSON has no infinity)."""
    return None if math.isinf(value) else round(value, 1)


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ordered sample."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _describe(case: LatencyCase) -> dict[str, Any]:
    arrivals = f"Poisson, mean {case.rate:g}/s"
    return {"daemon": case.daemon, "modems": case.modems, "latency_s": 0.0, "messages": case.messages,
            "arrivals": arrivals}  # fmt: skip
