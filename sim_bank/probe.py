"""Looking at one modem directly, without the daemon: ``gateway doctor``'s hands.

Plain AT commands over pyserial with short timeouts, one question at a time,
so every answer (or silence) can be reported as it is -- python-gsmmodem's
``connect()`` does a dozen things and fails as one. Nothing here changes the
SIM: no PIN is ever entered (three wrong PINs lock a SIM), no SMS is sent or
deleted; a balance USSD is asked only when the caller says so.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import serial

from .at import (
    FINAL_CODES,
    LATE_FINAL_WAIT,
    answer_lines,
    cusd_complete,
    info_value,
    line_prefix,
    parse_cops,
    parse_cpms,
    parse_creg,
    parse_csq,
)
from .netprobe import NetworkProbe, probe_network
from .ports import is_network, open_serial
from .ussd import parse_cusd

BY_ID = Path("/dev/serial/by-id")


@dataclass
class Probe:
    """What one modem said. ``None`` fields were not asked or not answered."""

    port: str
    exists: bool = False
    holders: list[tuple[int, str]] = field(default_factory=list)  # (pid, process name) with the port open
    open_error: str | None = None
    answers_at: bool = False
    manufacturer: str | None = None
    model: str | None = None
    pin_state: str | None = None  # READY, SIM PIN, SIM PUK, ... or the +CME error
    registration: int | None = None
    operator: str | None = None
    signal: int | None = None
    smsc: str | None = None
    storage: tuple[int, int] | None = None
    balance_text: str | None = None
    balance_error: str | None = None
    by_id: str | None = None  # the stable /dev/serial/by-id path of this device
    network: NetworkProbe | None = None  # a network port: the name, the TCP connection
    round_trip_ms: float | None = None  # AT to OK, the median of three


class AtLink:
    """A serial port spoken to one command at a time."""

    def __init__(self, port: str, baudrate: int, flow_control: bool = False, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self._serial = open_serial(port, baudrate, timeout=0.1, flow_control=flow_control)

    def close(self) -> None:
        with contextlib.suppress(OSError, serial.SerialException):
            self._serial.close()

    def command(
        self, cmd: str, timeout: float | None = None, until: tuple[str, ...] = FINAL_CODES, ends: str | None = None
    ) -> list[str] | None:
        """The lines answering ``cmd`` up to its final result code (included); None on silence.
        ``ends``: a line with this prefix completes the answer even if no final code follows
        (a Wavecom's ``+CPIN: READY``); a final code that follows at once is still read."""
        self._serial.reset_input_buffer()
        self._serial.write((cmd + "\r").encode("ascii"))
        deadline = time.monotonic() + (timeout or self.timeout)
        lines: list[str] = []
        buffer = b""
        answered = False  # the ``ends`` line came: what follows is awaited only briefly
        text: list[str] | None = None  # a +CUSD text running over several lines, until its quote closes
        while time.monotonic() < deadline:
            # what has arrived, or wait (up to the read timeout) for the next byte: never for
            # a full buffer, which would cost every answer the whole read timeout
            buffer += self._serial.read(max(1, self._serial.in_waiting))
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if not line or line == cmd:
                    continue  # blank or the echo
                lines.append(line)
                if text is not None:
                    text.append(line)
                    if cusd_complete("\n".join(text)):
                        return lines
                    continue
                if ends and not answered and line.startswith(ends):
                    answered = True
                    deadline = min(deadline, time.monotonic() + LATE_FINAL_WAIT)
                failed = line == "ERROR" or line.startswith(("+CME ERROR", "+CMS ERROR"))
                if line.startswith("+CUSD") and line.startswith(until) and not cusd_complete(line):
                    text = [line]  # the rest of the network's text is on the next lines
                    continue
                if failed or line.startswith(until):
                    return lines
        if answered:
            return lines
        return None


def port_holders(port: str) -> list[tuple[int, str]]:
    """Processes that have ``port`` open (ModemManager, another gateway, a terminal program).
    Pseudo-terminals (emulated modems) are skipped: their emulator keeps its own end open."""
    try:
        target = os.path.realpath(port)
    except OSError:
        return []
    if target.startswith("/dev/pts/"):
        return []
    found: list[tuple[int, str]] = []
    me = os.getpid()
    for pid_dir in Path("/proc").glob("[0-9]*"):
        pid = int(pid_dir.name)
        if pid == me:
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    name = (pid_dir / "comm").read_text().strip()
                    found.append((pid, name))
                    break
            except OSError:
                continue
    return found


def stable_path(port: str) -> str | None:
    """The ``/dev/serial/by-id/...`` link that points at the same device as ``port``."""
    try:
        target = os.path.realpath(port)
        links = sorted(BY_ID.iterdir()) if BY_ID.is_dir() else []
    except OSError:
        return None
    for link in links:
        with contextlib.suppress(OSError):
            if os.path.realpath(link) == target:
                return str(link)
    return None


def probe(
    port: str, baudrate: int, *, flow_control: bool = False, timeout: float = 3.0, balance_ussd: str | None = None
) -> Probe:
    """Ask the modem on ``port`` everything the doctor reports. Never raises for a modem
    that is absent, busy or silent: that is what the result says."""
    result = Probe(port)
    if is_network(port):
        result.network = probe_network(port)
        result.exists = result.network.reachable
        if not result.exists:
            return result
    else:
        result.exists = os.path.exists(port)
        if not result.exists:
            return result
        result.by_id = stable_path(port)
        result.holders = port_holders(port)
    try:
        link = AtLink(port, baudrate, flow_control, timeout)
    except (OSError, serial.SerialException, ValueError) as exc:
        result.open_error = str(exc)
        return result
    try:
        _ask(link, result, balance_ussd)
    except (OSError, serial.SerialException, ValueError) as exc:  # ValueError: text the line cannot carry
        result.open_error = str(exc)
    finally:
        link.close()
    return result


def _ask(link: AtLink, result: Probe, balance_ussd: str | None) -> None:
    answer = link.command("AT") or link.command("AT")
    result.answers_at = bool(answer and answer[-1] == "OK")
    if not result.answers_at:
        return
    result.round_trip_ms = _round_trip(link)
    link.command("ATE0")
    link.command("AT+CMEE=1")
    result.manufacturer = _value(link.command("AT+CGMI"), "AT+CGMI")
    result.model = _value(link.command("AT+CGMM"), "AT+CGMM")
    pin = link.command("AT+CPIN?", ends="+CPIN:") or []
    result.pin_state = next((ln.split(":", 1)[1].strip() for ln in pin if line_prefix(ln) == "+CPIN"), None) or next(
        (ln for ln in pin if ln.startswith("+CME ERROR")), None
    )
    if result.pin_state != "READY":
        return  # nothing else answers before the SIM is unlocked
    result.registration = parse_creg(link.command("AT+CREG?") or [])
    result.operator = parse_cops(link.command("AT+COPS?") or [])
    result.signal = parse_csq(link.command("AT+CSQ") or [])
    smsc = answer_lines(link.command("AT+CSCA?") or [], "AT+CSCA?")
    line = next((ln for ln in smsc if line_prefix(ln) == "+CSCA"), "")
    result.smsc = line.split(":", 1)[1].split(",")[0].strip().strip('"') if line else None
    result.storage = parse_cpms(link.command("AT+CPMS?") or [])
    if balance_ussd:
        answer = link.command(f'AT+CUSD=1,"{balance_ussd}",15', timeout=20.0, until=("+CUSD",))
        found = answer_lines(answer or [], "AT+CUSD=1")
        start = next((i for i, ln in enumerate(found) if ln.startswith("+CUSD")), None)
        reply = None if start is None else parse_cusd("\n".join(found[start:]))
        if reply is None:
            result.balance_error = "no USSD answer within 20 s"
        else:
            result.balance_text = reply.text


def _round_trip(link: AtLink) -> float | None:
    """Milliseconds from AT to its OK, the median of three (what each command of a send waits)."""
    times = []
    for _ in range(3):
        start = time.monotonic()
        if link.command("AT") is None:
            return None
        times.append((time.monotonic() - start) * 1000)
    return sorted(times)[1]


def _value(lines: list[str] | None, command: str) -> str | None:
    """An identification answer's value, never an unsolicited line that landed in it."""
    if not lines or lines[-1] != "OK":
        return None
    return info_value(lines, command)
