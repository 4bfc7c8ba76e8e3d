"""Emulated modems in a process of their own, driven over a pipe (one JSON object a line).

The daemon under test -- ours, gammu-smsd or smsd -- opens ``DIR/m1 .. mK`` as it
would open USB serial ports; the benchmark talks to this process to deliver
customers' SMS and to read what the modems were asked to send, with the times
(``time.time()``, comparable across processes) taken where it happens:

    {"op": "sms", "modem": 1, "from": "+98912...", "text": "1 48213"} -> {"at": t}
    {"op": "burst", "messages": [[modem, from, text], ...]}          -> {"at": t}
    {"op": "sent"}     -> {"modems": [[[number, command_at, accepted_at], ...], ...]}
    {"op": "stats"}    -> {"sent": [n, ...], "commands": [n, ...], "held": [n, ...]}
    {"op": "seen", "prefix": "AT+CNMI"} -> {"seen": [bool, ...]}

``at`` is when the ``+CMTI`` went down the line (the injection writes it at once,
unless the SIM is full: ``held`` counts messages the network still holds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim_bank.emulator import ModemEmulator

STARTUP_TIMEOUT = 30.0


class EmulatorProcess:
    """The parent's handle on the emulator process: ``with EmulatorProcess(dir, k, latency) as bank: ...``."""

    def __init__(self, directory: Path, modems: int, latency: float, failing: dict[int, int] | None = None) -> None:
        self.directory = directory
        self.modems = modems
        self.latency = latency
        self.failing = failing or {}  # modem number -> the +CMS code it answers to every send
        self._proc: subprocess.Popen[str] | None = None

    @property
    def links(self) -> list[Path]:
        return [self.directory / f"m{i}" for i in range(1, self.modems + 1)]

    def __enter__(self) -> EmulatorProcess:
        faults = [arg for modem, code in self.failing.items() for arg in ("--fail", f"{modem}:{code}")]
        command = [sys.executable, "-m", "tests.bench.emulators", "--modems", str(self.modems),
                   "--dir", str(self.directory), "--latency", str(self.latency), *faults]  # fmt: skip
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        try:
            self.request({"op": "stats"})
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("emulator process not running")
        proc.stdin.write(json.dumps(payload) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator process exited (code {proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"emulator process: {answer['error']}")
        return answer

    def sms(self, modem: int, sender: str, text: str) -> float:
        return float(self.request({"op": "sms", "modem": modem, "from": sender, "text": text})["at"])

    def burst(self, messages: list[tuple[int, str, str]]) -> float:
        return float(self.request({"op": "burst", "messages": messages})["at"])

    def sent(self) -> list[list[tuple[str, float, float]]]:
        """Per modem: (number, when its AT+CMGS arrived, when the modem accepted the PDU)."""
        return [[(n, c, a) for n, c, a in modem] for modem in self.request({"op": "sent"})["modems"]]

    def stats(self) -> dict[str, list[int]]:
        return self.request({"op": "stats"})

    def wait_seen(self, prefix: str, timeout: float) -> None:
        """Wait until every modem was sent a command starting with ``prefix`` (a daemon's set-up is done)."""
        deadline = time.monotonic() + timeout
        while not all(self.request({"op": "seen", "prefix": prefix})["seen"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {prefix} on every modem within {timeout:g} s")
            time.sleep(0.1)

    def wait_sent(self, count: int, timeout: float) -> int:
        """Wait until the modems together accepted ``count`` messages; return how many they did."""
        deadline = time.monotonic() + timeout
        done = 0
        while time.monotonic() < deadline:
            done = sum(self.stats()["sent"])
            if done >= count:
                break
            time.sleep(0.05)
        return done


# ---------------------------------------------------------------- the child process


def _serve(emulators: list[ModemEmulator]) -> None:
    handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "sms": lambda r: _sms(emulators, r),
        "burst": lambda r: _burst(emulators, r),
        "sent": lambda r: {"modems": [[(p.number, p.command_at, p.at) for p in e.sent_pdus] for e in emulators]},
        "stats": lambda r: _stats(emulators),
        "seen": lambda r: {"seen": [any(c.upper().startswith(r["prefix"]) for c in e.commands) for e in emulators]},
        "attempts": lambda r: {"attempts": [_attempts(e) for e in emulators]},
    }
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = handlers[request["op"]](request)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def _attempts(emulator: ModemEmulator) -> int:
    """Sends the modem was asked to make, failed ones included."""
    return sum(1 for c in emulator.commands if c.upper().startswith("AT+CMGS"))


def _sms(emulators: list[ModemEmulator], request: dict[str, Any]) -> dict[str, Any]:
    emulators[int(request["modem"]) - 1].inject_sms(str(request["from"]), str(request["text"]))
    return {"at": time.time()}


def _burst(emulators: list[ModemEmulator], request: dict[str, Any]) -> dict[str, Any]:
    per_modem: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for modem, sender, text in request["messages"]:
        per_modem[int(modem)].append((str(sender), str(text)))
    for modem, messages in per_modem.items():
        emulators[modem - 1].inject_burst(messages)
    return {"at": time.time()}


def _stats(emulators: list[ModemEmulator]) -> dict[str, Any]:
    return {
        "sent": [len(e.sent_pdus) for e in emulators],
        "commands": [len(e.commands) for e in emulators],
        "held": [e.network_queue for e in emulators],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modems", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fail", action="append", default=[], metavar="MODEM:CODE",
                        help="this modem answers +CMS ERROR: CODE to every send")  # fmt: skip
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    emulators = [
        ModemEmulator(f"m{i}", link=args.dir / f"m{i}", own_number=f"+9891200{i:05d}", send_latency=args.latency)
        for i in range(1, args.modems + 1)
    ]
    for fault in args.fail:
        modem, code = fault.split(":")
        emulators[int(modem) - 1].fail_sends_at_rate(1.0, code=int(code))
    try:
        for emulator in emulators:
            emulator.start()
        _serve(emulators)
    finally:
        for emulator in emulators:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
