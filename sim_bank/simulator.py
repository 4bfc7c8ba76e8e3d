"""A bank of emulated modems, and a control socket to drive it from another process.

``gateway run --simulate N`` starts an :class:`EmulatorBank` in-process and
points the daemon at its ptys -- the daemon then runs exactly the code it runs
on real modems. ``gateway simulate sms`` talks to the bank over a Unix socket
(one JSON object per line, one answer per request):

    {"op": "sms", "from": "+989121234567", "text": "1 48213", "modem": null}
    {"op": "sent", "modem": null}
    {"op": "modems"}
    {"op": "counts"}                                  # sent, on SIM (every memory), waiting in the network
    {"op": "parts"}                                   # every part sent: number, total, seq, AT+CMGS time
    {"op": "fault", "modem": "m1", "kind": "hang", "on": true}

Faults (``kind``): ``fail_rate`` (``rate``, ``code``: a share of sends answer +CMS ERROR),
``unplug`` / ``replug`` (the pty goes away and comes back), ``hang`` (``on``: commands
get no answer), ``raw`` (``hex`` bytes on the line), ``burst`` (``messages``: [[from,
text], ...] stored at once, one +CMTI each), ``capacity`` (``size`` of the SIM storage),
``noise`` (``lines`` such as ``["^RSSI:17"]`` slipped into every answer, at ``place``
before / after / random; ``[]`` stops it), ``dialect`` (``name``: standard, huawei or
wavecom -- answer as that modem does from now on; storage lists count at the next connect).

The bank can also run on its own (``gateway simulate bank``) so that its
modems outlive a daemon that is killed and restarted.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import socketserver
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from .emulator import ModemEmulator
from .emulator_line import DIALECTS, NoisePlace
from .exceptions import SimBankError
from .types import ModemConfig

MEMORIES = ("SM", "ME", "SR")
CONTROL_POLL = 0.05  # seconds: how soon the control socket's loop sees stop() (socketserver's default is 0.5)


class SimulatorError(SimBankError):
    """The simulated bank could not be reached or refused a request."""


class EmulatorBank:
    """``count`` emulated modems with stable links ``directory/m1 .. mN``."""

    def __init__(
        self, count: int, directory: Path, *, send_latency: float = 0.0, first: int = 1, dialect: str = "standard"
    ) -> None:
        if not 1 <= count <= 256 or not 1 <= first <= 10_000:
            raise ValueError("a simulated bank has 1-256 modems, numbered from 1-10000")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.emulators = [
            ModemEmulator(
                f"m{i}",
                link=directory / f"m{i}",
                own_number=f"+9891200{i:05d}",
                send_latency=send_latency,
                dialect=dialect,
            )
            for i in range(first, first + count)
        ]
        self._next = itertools.cycle(self.emulators)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._lock = threading.Lock()

    def start(self) -> EmulatorBank:
        for emu in self.emulators:
            emu.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with contextlib.suppress(FileNotFoundError):
                Path(self._server.server_address).unlink()  # type: ignore[arg-type]
            self._server = None
        for emu in self.emulators:
            emu.stop()

    def __enter__(self) -> EmulatorBank:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def modem_configs(self, **overrides: Any) -> tuple[ModemConfig, ...]:
        return tuple(ModemConfig(e.modem_id, str(e.link), own_number=e.own_number, **overrides) for e in self.emulators)

    def get(self, modem_id: str | None) -> ModemEmulator:
        if modem_id is None:
            with self._lock:
                return next(self._next)
        for emu in self.emulators:
            if emu.modem_id == modem_id:
                return emu
        raise SimulatorError(f"no simulated modem {modem_id!r} (have {', '.join(e.modem_id for e in self.emulators)})")

    # ------------------------------------------------------------ control socket

    def serve(self, path: Path) -> None:
        """Answer control requests on a Unix socket at ``path`` (in a background thread)."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        bank = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    try:
                        reply = bank.handle(json.loads(raw))
                    except (SimulatorError, ValueError, KeyError, TypeError) as exc:
                        reply = {"ok": False, "error": str(exc)}
                    self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")

        self._server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(CONTROL_POLL,), name="simulator-control", daemon=True
        ).start()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "sms":
            sender, text = str(request["from"]), str(request["text"])
            emu = self.get(request.get("modem"))
            parts = emu.inject_sms(sender, text)
            return {"ok": True, "modem": emu.modem_id, "parts": parts}
        if op == "sent":
            wanted = request.get("modem")
            messages = [
                {"modem": e.modem_id, **asdict(m)}
                for e in self.emulators
                if wanted in (None, e.modem_id)
                for m in e.sent
            ]
            return {"ok": True, "messages": messages}
        if op == "modems":
            return {
                "ok": True,
                "modems": [
                    {"id": e.modem_id, "port": str(e.link), "number": e.own_number, "on_sim": len(e.stored())}
                    for e in self.emulators
                ],
            }
        if op == "counts":
            return {
                "ok": True,
                "modems": {
                    e.modem_id: {
                        "sent": len(e.sent),
                        "on_sim": sum(len(e.stored(memory)) for memory in MEMORIES),
                        "network": e.network_queue,
                    }
                    for e in self.emulators
                },
            }
        if op == "parts":  # every SMS-SUBMIT part the modem took: [number, total, seq, when its AT+CMGS came]
            return {
                "ok": True,
                "parts": {
                    e.modem_id: [[p.number, *(p.concat[1:] if p.concat else (1, 1)), p.command_at] for p in e.sent_pdus]
                    for e in self.emulators
                },
            }
        if op == "fault":
            self._fault(self.get(request.get("modem")), request)
            return {"ok": True}
        raise SimulatorError(f"unknown request {op!r}")

    @staticmethod
    def _fault(emu: ModemEmulator, request: dict[str, Any]) -> None:
        kind = request.get("kind")
        if kind == "fail_rate":
            emu.fail_sends_at_rate(float(request["rate"]), int(request.get("code", 38)))
        elif kind == "unplug":
            emu.unplug()
        elif kind == "replug":
            emu.replug()
        elif kind == "hang":
            emu.hang(bool(request.get("on", True)))
        elif kind == "raw":
            emu.write_raw(bytes.fromhex(str(request["hex"])))
        elif kind == "burst":
            emu.inject_burst([(str(sender), str(text)) for sender, text in request["messages"]])
        elif kind == "capacity":
            emu.set_capacity(int(request["size"]))
        elif kind == "noise":
            place = str(request.get("place", "before"))
            if place not in ("before", "after", "random"):
                raise SimulatorError(f"noise place {place!r}: use before, after or random")
            lines = [str(line) for line in request.get("lines") or []]
            emu.set_noise(lines, place=cast("NoisePlace", place))
        elif kind == "dialect":
            name = str(request["name"])
            if name not in DIALECTS:
                raise SimulatorError(f"no modem dialect {name!r} (have {', '.join(DIALECTS)})")
            emu.set_dialect(name)
        else:
            raise SimulatorError(f"unknown fault {kind!r}")


def request(path: Path, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one control request to a running simulated bank."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(payload, ensure_ascii=False).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise SimulatorError(f"no simulated SIM bank is listening at {path}") from None
    except OSError as exc:
        raise SimulatorError(f"simulated SIM bank at {path}: {exc}") from None
    try:
        answer: dict[str, Any] = json.loads(data or b"{}")
    except ValueError:  # cut short: the bank stopped mid-answer
        raise SimulatorError(f"simulated SIM bank at {path}: incomplete answer") from None
    if not answer.get("ok"):
        raise SimulatorError(answer.get("error") or "the simulated SIM bank refused the request")
    return answer
