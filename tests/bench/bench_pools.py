"""Send throughput of a modem pool over the network: 32 modems behind ser2net (RFC 2217 on
loopback) beside the same 32 on their ptys.

Measured as the peers are (``bench_peers``): the emulated modems in a process of their own,
``gateway run`` in its own, ser2net (when used) in its own serving each pty as
``rfc2217://127.0.0.1:PORT``; the messages handed over as outbox rows at once, the clock
running until the emulators accepted the last PDU. K modems at L seconds per send can send
K/L messages a second: the figure is the ratio to that (target >= 0.95 over the network,
as on ptys) -- a pool on the LAN should cost the gateway nothing it can measure.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sim_bank.netports import SER2NET, Ser2net

from . import daemons
from .bench_peers import Case, _measure
from .emulators import EmulatorProcess

TARGET_RATIO = 0.95
MODEMS, LATENCY = 32, 0.5
TRANSPORTS = ("pty", "rfc2217")
Progress = Callable[[str], None]


class OursOnPorts(daemons.Ours):
    """``gateway run`` with each modem's port replaced (a pty link -> its rfc2217:// URL)."""

    def __init__(self, directory: Path, ports: dict[str, str]) -> None:
        super().__init__(directory)
        self.ports = ports  # link as written -> the port to write instead

    def _config(self, links: list[Path]) -> str:
        text = super()._config(links)
        for link, port in self.ports.items():
            text = text.replace(f'port = "{link}"', f'port = "{port}"')
        return text


def run_case(transport: str, modems: int, latency: float, messages: int) -> dict[str, Any]:
    case = Case("ours", modems, latency, messages)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gw-bench-pools-") as tmp:
        root = Path(tmp)
        with EmulatorProcess(root / "dev", modems, latency) as bank:
            ser2net = Ser2net(root, [str(link) for link in bank.links]) if transport == "rfc2217" else None
            ports = dict(zip([str(link) for link in bank.links], ser2net.urls, strict=True)) if ser2net else {}
            daemon = OursOnPorts(root, ports)
            try:
                if ser2net is not None:
                    ser2net.start()
                result = _measure(case, bank, daemon)
                result["config"] = daemon.configs()
            finally:
                daemon.stop()
                if ser2net is not None:
                    ser2net.kill()
    result["transport"] = transport
    result["load_before"] = round(load, 1)  # the machine's 1-minute load average as the case began
    return result


def run(quick: bool = False, progress: Progress = lambda _m: None) -> dict[str, Any]:
    messages = MODEMS * round((8.0 if quick else 20.0) / LATENCY)  # the modems kept busy 8 s (20 s)
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    for transport in TRANSPORTS:
        if transport == "rfc2217" and SER2NET is None:
            errors.append("ser2net is not installed (apt-get install ser2net): the RFC 2217 run was skipped")
            continue
        progress(f"pools: {MODEMS} modems at {LATENCY:g} s per send over {transport}, {messages} messages")
        try:
            results.append(run_case(transport, MODEMS, LATENCY, messages))
        except (TimeoutError, RuntimeError, OSError) as exc:
            errors.append(f"{transport}: {type(exc).__name__}: {exc}")
    config = next((r.pop("config") for r in results if r["transport"] == "rfc2217"), {})
    for r in results:
        r.pop("config", None)
    return {"target_ratio": TARGET_RATIO, "results": results, "errors": errors, "config": config}
