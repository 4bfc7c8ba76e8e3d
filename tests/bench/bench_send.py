"""Send throughput of the real daemon against emulated modems in a separate process.

For K modems taking L seconds per send, the physical limit is K/L messages a
second; the figure that matters is the ratio measured / limit (target >= 0.95):
the modems, not the gateway, should be the limit. At L = 0 the limit is the
gateway itself: messages a second and CPU milliseconds per message (the
daemon's process only; the emulators run in their own process).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import Config, LoggingConfig, QuotasConfig, SiteConfig
from gateway.daemon import Daemon, bank_for
from gateway.store import Store
from sim_bank.types import ModemConfig


@dataclass(frozen=True)
class SendCase:
    modems: int
    latency: float
    messages: int

    @property
    def limit(self) -> float | None:
        return self.modems / self.latency if self.latency else None


def start_bank(directory: Path, modems: int, latency: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "simulate", "bank", "--modems", str(modems),
         "--dir", str(directory), "--latency", str(latency)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not all((directory / f"m{i}").exists() for i in range(1, modems + 1)):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"emulator bank did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    return proc


async def run_case(case: SendCase) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        root = Path(tmp)
        bank_proc = start_bank(root / "dev", case.modems, case.latency)
        try:
            modems = tuple(
                ModemConfig(f"m{i}", str(root / "dev" / f"m{i}"), sweep_interval=60.0, health_interval=600.0)
                for i in range(1, case.modems + 1)
            )
            config = (
                Config(
                    site=SiteConfig(id="9"),
                    logging=LoggingConfig(level="warning"),
                    quotas=QuotasConfig(per_minute=10**6, per_day=10**9),
                )
                .with_database(root / "gw.db")
                .with_modems(modems, per_minute=10**6, per_day=10**9)
            )
            daemon = Daemon(config, bank_for(config))
            await daemon.start()
            try:
                while len(daemon.bank.ready()) < case.modems:
                    await asyncio.sleep(0.05)
                writer = await Store.open(root / "gw.db")
                for i in range(case.messages):
                    await writer.enqueue(f"+98912{i:07d}", f"Power is back in your area. Notice {i}.", lane="broadcast")
                await writer.close()
                cpu0, t0 = time.process_time(), time.monotonic()
                assert daemon.dispatcher is not None and daemon.store is not None
                daemon.dispatcher.wake()
                while (await daemon.store.counts())["outbox"].get("sent", 0) < case.messages:
                    await asyncio.sleep(0.02)
                elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
            finally:
                await daemon.stop()
        finally:
            bank_proc.send_signal(signal.SIGINT)
            bank_proc.wait(timeout=30)
    rate = case.messages / elapsed
    result = {
        "modems": case.modems,
        "latency_s": case.latency,
        "messages": case.messages,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(rate, 2),
        "cpu_ms_per_message": round(cpu * 1000 / case.messages, 3),
    }
    if case.limit:
        result["physical_limit_per_s"] = case.limit
        result["ratio_to_limit"] = round(rate / case.limit, 3)
    return result


CASES = [
    SendCase(1, 0.0, 2000),
    SendCase(1, 0.5, 60),
    SendCase(4, 0.5, 240),
    SendCase(8, 0.5, 480),
]
QUICK = [SendCase(1, 0.0, 300), SendCase(4, 0.5, 80)]


def run(quick: bool = False) -> list[dict[str, Any]]:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return [asyncio.run(run_case(c)) for c in (QUICK if quick else CASES)]
