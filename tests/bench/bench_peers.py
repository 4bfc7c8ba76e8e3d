"""Send throughput side by side: this gateway, gammu-smsd and SMSTools3 on the same emulated modems.

Each daemon runs as its own process against a fresh emulator process (the same
code for all three), configured for its best throughput (``daemons.py``). Once
it has set up every modem, the messages are handed over the way its users do
it -- outbox rows, outbox files, spool files -- all at once, and the clock runs
from the hand-over until the emulators accepted the last PDU (their own
timestamps). CPU is the daemon's process tree, from /proc.

At 0 s per send (one modem) the daemon is the limit: messages a second and CPU
ms a message. At L s per send on K modems the modems are: the figure is the
ratio to the physical limit K/L (target for ours: >= 0.95).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import daemons
from .emulators import EmulatorProcess

TARGET_RATIO = 0.95
READY_TIMEOUT = 90.0  # gammu-smsd's first start can take half a minute
SETTLE_S = 1.0  # after set-up, before the hand-over: let each daemon reach its idle loop
TEXT = "Power is back in your area. Notice {i}."

DaemonFactory = Callable[[Path], daemons.SmsDaemon]
FACTORIES: dict[str, DaemonFactory] = {
    "ours": lambda d: daemons.Ours(d),
    "gammu-smsd": lambda d: daemons.GammuSmsd(d),
    "smstools": lambda d: daemons.Smstools(d),
}
# messages per run at 0 s per send: each daemon busy for roughly 10-30 s
UNLOADED = {"ours": 2000, "gammu-smsd": 40, "smstools": 1000}
UNLOADED_QUICK = {"ours": 300, "gammu-smsd": 10, "smstools": 150}


@dataclass(frozen=True)
class Case:
    daemon: str
    modems: int
    latency: float
    messages: int

    @property
    def limit(self) -> float | None:
        return self.modems / self.latency if self.latency else None


def cases(quick: bool, daemons_: list[str]) -> list[Case]:
    unloaded = UNLOADED_QUICK if quick else UNLOADED
    out = [Case(d, 1, 0.0, unloaded[d]) for d in daemons_]
    seconds = 8.0 if quick else 20.0  # how long the modems are kept busy, at their limit
    for k in (1, 4) if quick else (1, 4, 8, 16):
        for latency in (0.5, 2.0):
            out += [Case(d, k, latency, k * round(seconds / latency)) for d in daemons_]
    return out


def run_case(case: Case) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"gw-bench-{case.daemon}-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", case.modems, case.latency) as bank:
            daemon = FACTORIES[case.daemon](root)
            try:
                result = _measure(case, bank, daemon)
                result["config"] = daemon.configs()
                return result
            finally:
                daemon.stop()


def _measure(case: Case, bank: EmulatorProcess, daemon: daemons.SmsDaemon) -> dict[str, Any]:
    started = time.time()
    daemon.start(bank.links)
    bank.wait_seen(daemon.ready_prefix, READY_TIMEOUT)
    startup = time.time() - started
    time.sleep(SETTLE_S)
    commands0 = sum(bank.stats()["commands"])
    messages = [(f"+98912{i:07d}", TEXT.format(i=i)) for i in range(case.messages)]
    cpu0, handed = daemon.cpu_seconds(), time.time()
    daemon.enqueue(messages)
    expected = case.messages / case.limit if case.limit else case.messages / 50
    done = bank.wait_sent(case.messages, timeout=60 + 3 * expected)
    cpu = daemon.cpu_seconds() - cpu0
    stats = bank.stats()
    accepted = sorted(at for modem in bank.sent() for _, _, at in modem)
    return _result(case, handed, accepted, cpu, sum(stats["commands"]) - commands0, startup, done)


def _result(
    case: Case, handed: float, accepted: list[float], cpu: float, commands: int, startup: float, done: int
) -> dict[str, Any]:
    elapsed = (accepted[-1] - handed) if accepted else float("nan")
    rate = len(accepted) / elapsed if accepted else 0.0
    result: dict[str, Any] = {
        "daemon": case.daemon,
        "modems": case.modems,
        "latency_s": case.latency,
        "messages": case.messages,
        "sent": done,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(rate, 2),
        "first_send_after_s": round(accepted[0] - handed, 3) if accepted else None,
        "cpu_ms_per_message": round(cpu * 1000 / max(done, 1), 2),
        "at_commands_per_message": round(commands / max(done, 1), 2),
        "startup_s": round(startup, 1),
    }
    if case.limit:
        result["physical_limit_per_s"] = case.limit
        result["ratio_to_limit"] = round(rate / case.limit, 3)
    if done < case.messages:
        result["error"] = f"only {done} of {case.messages} sent before the timeout"
    return result


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    unavailable = daemons.ensure_peers()
    names = ["ours", *(n for n in ("gammu-smsd", "smstools") if _exe(n) not in unavailable)]
    results: list[dict[str, Any]] = []
    configs: dict[str, dict[str, str]] = {}
    for case in cases(quick, names):
        if progress:
            progress(f"peers: {case.daemon}, {case.modems} modem(s), {case.latency:g} s/send, {case.messages} msgs")
        try:
            result = run_case(case)
            configs[case.daemon] = result.pop("config")  # the last case has the most modems
            results.append(result)
        except (TimeoutError, RuntimeError, OSError) as exc:
            results.append({"daemon": case.daemon, "modems": case.modems, "latency_s": case.latency,
                            "messages": case.messages, "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
    return {
        "results": results,
        "configs": configs,
        "unavailable": {_name(exe): why for exe, why in unavailable.items()},
        "target_ratio": TARGET_RATIO,
        "comparison": compare(results),
    }


def compare(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours against each peer, case by case: messages a second and CPU a message, as ratios."""
    ours = {(r["modems"], r["latency_s"]): r for r in results if r["daemon"] == "ours" and "messages_per_s" in r}
    out = []
    for r in results:
        mine = ours.get((r["modems"], r["latency_s"]))
        if r["daemon"] == "ours" or mine is None or not r.get("messages_per_s"):
            continue
        out.append({
            "peer": r["daemon"], "modems": r["modems"], "latency_s": r["latency_s"],
            "rate_ours_over_peer": round(mine["messages_per_s"] / r["messages_per_s"], 2),
            "cpu_ours_over_peer": round(mine["cpu_ms_per_message"] / r["cpu_ms_per_message"], 2)
            if r["cpu_ms_per_message"] else None,
        })  # fmt: skip
    return out


def _exe(name: str) -> str:
    return {"gammu-smsd": daemons.GAMMU_SMSD, "smstools": daemons.SMSD}.get(name, name)


def _name(exe: str) -> str:
    return {daemons.GAMMU_SMSD: "gammu-smsd", daemons.SMSD: "smstools"}.get(exe, exe)
