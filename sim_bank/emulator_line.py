"""The emulated modem's side of the serial line: its state, the bytes it is typed, and how
it answers -- command lines split and dispatched, answers framed, noise slipped in.

The commands themselves are :class:`sim_bank.emulator_at.AtInterpreter`'s. No I/O
here: what the modem says goes to :meth:`AtLine._write_bytes`, which collects it
in ``output``; :class:`~sim_bank.emulator.ModemEmulator` sends it down a pseudo-terminal.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Literal

CTRL_Z = 0x1A
ESC = 0x1B
TEHRAN = timezone(timedelta(hours=3, minutes=30))
Notify = Literal["immediate", "none", "in_response"]
NoisePlace = Literal["before", "after", "random"]


@dataclass
class SentPdu:
    """One SMS-SUBMIT the client handed over with ``AT+CMGS``, decoded."""

    number: str
    text: str
    reference: int  # TP-MR the emulator answered with (+CMGS: <mr>)
    concat: tuple[int, int, int] | None  # (ref, total, seq)
    pdu: str
    at: float  # time.time() when the modem accepted it (after the send latency)
    command_at: float = 0.0  # time.time() when its AT+CMGS line arrived (latency benchmarks)


@dataclass
class SentMessage:
    """Parts of one outgoing message joined back together, as a handset would."""

    number: str
    text: str
    parts: int
    references: tuple[int, ...]


@dataclass
class Slot:
    status: int  # 0 unread, 1 read, 2 stored unsent, 3 stored sent
    pdu: str


@dataclass
class Memory:
    capacity: int
    slots: dict[int, Slot] = field(default_factory=dict)

    def free_index(self, first: int) -> int | None:
        for i in range(first, first + self.capacity):
            if i not in self.slots:
                return i
        return None


@dataclass(frozen=True)
class Dialect:
    """How one family of real modems answers differently from the plain emulator."""

    name: str
    manufacturer: str
    model: str
    revision: str
    storages: str  # what follows "+CPMS: " in the answer to AT+CPMS=?
    noise: tuple[str, ...] = ()  # unsolicited lines it slips into its answers
    noise_place: NoisePlace = "before"
    cpin_final: bool = True  # False: AT+CPIN? gets "+CPIN: READY" and no final OK


DIALECTS = {
    d.name: d
    for d in (
        Dialect("standard", "EmuCorp", "EMU-900 GSM", "1.0.0", '("SM","ME","SR"),("SM","ME"),("SM","ME")'),
        # Huawei E3531/E173: ^RSSI, ^BOOT, ^MODE... reports arrive at any time, also inside answers
        Dialect(
            "huawei",
            "huawei",
            "E3531",
            "22.521.23.00.00",
            '("ME","SM","SR"),("ME","SM"),("ME","SM")',
            noise=("^RSSI:17", "^BOOT:20155479,0,0,0,72", "^MODE:5,4", "^SRVST:2"),
        ),
        # Wavecom Fastrack (Q24/Q2403): +CPIN? answered without a final result code
        Dialect(
            "wavecom",
            "WAVECOM MODEM",
            "MULTIBAND  900E  1800",
            "R7.46.0.201108091301.FXT002",
            '("SM","ME"),("SM","ME"),("SM","ME")',
            cpin_final=False,
        ),
    )
}


class AtLine:
    """A modem's state and its command line, without the commands or the serial port."""

    MANUFACTURER = DIALECTS["standard"].manufacturer
    MODEL = DIALECTS["standard"].model
    REVISION = DIALECTS["standard"].revision

    def __init__(
        self,
        modem_id: str = "emu0",
        *,
        own_number: str | None = None,
        operator: str = "Emu Mobile",
        smsc: str = "+989350001000",
        capacity: int = 50,
        first_index: int = 1,
        send_latency: float = 0.0,
        pin: str | None = None,
        tz: timezone = TEHRAN,
        imei: str | None = None,
        dialect: str = "standard",
    ) -> None:
        self.modem_id = modem_id
        self.own_number = own_number
        self.operator = operator
        self.smsc = smsc
        self.first_index = first_index
        self.tz = tz
        self.imei = imei or f"35{zlib.crc32(modem_id.encode()) % 10**13:013d}"
        self.imsi = f"43211{zlib.crc32(modem_id.encode() + b'imsi') % 10**10:010d}"
        self._pin = pin
        self._pin_ok = pin is None
        self._memories = {
            "SM": Memory(capacity),
            "ME": Memory(capacity),
            "SR": Memory(capacity),
        }
        self._mem = ["SM", "SM", "SM"]  # read/delete, write/send, receive (+CPMS)
        self._send_latency = send_latency
        self._fail_sends: deque[int | None] = deque()  # outcome of the next sends: None = accepted
        self._rssi = 20
        self._creg = 1
        self._creg_mode = 0
        self._cnmi = [2, 1, 0, 2, 0]
        self._cmee = 0
        self._echo = True
        self._cmgf = 0
        self._mr = itertools.count()
        self._concat = itertools.count(1)
        self._network_queue: deque[str] = deque()  # delivered when storage frees up
        self._ussd: dict[str, tuple[str, int, bool]] = {}
        self._sent: list[SentPdu] = []
        self._received: list[str] = []  # every PDU the network delivered, in order
        self._lock = threading.RLock()
        self._sent_cond = threading.Condition(self._lock)
        self._urcs_in_response: list[str] = []
        self._overrides: dict[str, list[str]] = {}
        self._fail_listing: dict[str, int] = {}
        self._fail_selection: dict[str, list[tuple[str, int | None]]] = {}  # memory -> errors for its next selections
        self._inbuf = bytearray()
        self._pdu_wait: int | None = None  # expected TPDU length while reading a PDU after "> "
        self._cmgs_at = 0.0  # when the AT+CMGS of the PDU being read arrived
        self.commands: list[str] = []  # every command line received, for tests and benchmarks
        self.command_log: list[tuple[float, str]] = []  # the same, with time.monotonic() on arrival
        self.output = bytearray()  # what the modem said, when no line is attached
        self._fail_rate: tuple[float, int] | None = None
        self._rng = random.Random(zlib.crc32(modem_id.encode()))
        self._reports: list[int] | None = None  # TP-ST sequence reported after each sent part
        self._report_delay = 0.05
        self._report_split = False
        self._report_storage = False  # store reports in SR memory (+CDSI) whatever +CNMI says
        self._urc_lock = threading.Lock()
        self._ussd_session = False
        self._ussd_delay = 0.05
        self._hung = False
        self._noise: tuple[str, ...] = ()
        self._noise_place: NoisePlace = "before"
        self._noise_next = 0
        self._noise_rng = random.Random(zlib.crc32(modem_id.encode() + b"noise"))
        self.dialect = DIALECTS["standard"]
        self.set_dialect(dialect)

    def set_dialect(self, name: str) -> None:
        """Answer as that family of modems does (``DIALECTS``: standard, huawei, wavecom),
        noise included; ``set_noise`` changes the noise afterwards."""
        dialect = DIALECTS.get(name)
        if dialect is None:
            raise ValueError(f"no modem dialect {name!r} (have {', '.join(DIALECTS)})")
        with self._lock:
            self.dialect = dialect
            self.MANUFACTURER, self.MODEL, self.REVISION = dialect.manufacturer, dialect.model, dialect.revision
        self.set_noise(list(dialect.noise), place=dialect.noise_place)

    def set_noise(self, lines: list[str] | None, *, place: NoisePlace = "before") -> None:
        """Slip one of ``lines`` (URCs such as ``^RSSI:17``, in turn) into every answer that
        ends in a final result code, the result of a send included: ``before`` its first line,
        ``after`` its last one (just before the OK), or at a ``random`` place (seeded per
        modem). None or [] stops it."""
        with self._lock:
            self._noise = tuple(lines or ())
            self._noise_place = place
            self._noise_next = 0

    def _write(self, text: str) -> None:
        self._write_bytes(text.encode("latin-1", "replace"))

    def _write_bytes(self, data: bytes) -> None:
        """Where the modem's words go; the pty emulator sends them down the line."""
        self.output.extend(data)

    def _feed(self, data: bytes) -> None:
        for b in data:
            if self._pdu_wait is not None:
                if b == CTRL_Z:
                    self._finish_pdu(self._inbuf.decode("latin-1").strip())
                    self._inbuf.clear()
                elif b == ESC:
                    self._pdu_wait = None
                    self._inbuf.clear()
                    self._write("\r\nOK\r\n")
                else:
                    if self._echo:
                        self._write_bytes(bytes((b,)))
                    self._inbuf.append(b)
                continue
            if b == ESC:  # gammu opens with ESC CR: abandon whatever was typed
                self._inbuf.clear()
            elif b in (0x0D, 0x0A):
                if b == 0x0A and not self._inbuf:
                    continue
                line = self._inbuf.decode("latin-1")
                self._inbuf.clear()
                if self._echo:
                    self._write(line + "\r")
                if line.strip():
                    self._command_line(line.strip())
            else:
                self._inbuf.append(b)

    def exchange_times(self, command: str) -> list[float]:
        """Seconds from each arrival of ``command`` (exactly as sent) to the next command line:
        how long the client spent on that exchange, whatever it did before or after it."""
        entries = list(self.command_log)
        wanted = command.upper()
        return [entries[i + 1][0] - when for i, (when, line) in enumerate(entries[:-1]) if line.upper() == wanted]

    def _command_line(self, line: str) -> None:
        self.command_log.append((time.monotonic(), line))
        self.commands.append(line)
        if self._hung:
            return  # the modem took the command and never answers
        if line[:2].upper() != "AT":
            return  # modems ignore what does not start with AT
        body = line[2:]
        out: list[str] = []
        with self._lock:
            canned = self._overrides.get(line.upper())
        if canned is not None:
            self._flush(canned[:-1], final=canned[-1])
            return
        with self._lock:
            for command in _split_commands(body):
                result = self._execute(command, out)
                if result is None:  # the command goes on after a prompt (AT+CMGS)
                    return
                if result != "OK":
                    self._flush([], final=result)
                    return
        self._flush(out, final="OK")

    def _flush(self, lines: list[str], final: str | None = None) -> None:
        if final is not None:
            with self._lock:
                lines = [*lines, *self._urcs_in_response]
                self._urcs_in_response.clear()
                if self._noise:
                    lines = self._with_noise(lines)
        text = "".join(f"\r\n{line}\r\n" for line in lines)
        if final is not None:
            text += f"\r\n{final}\r\n"
        if text:
            self._write(text)

    def _with_noise(self, lines: list[str]) -> list[str]:
        """``lines`` with the next noise line slipped in (lock held)."""
        noise = self._noise[self._noise_next % len(self._noise)]
        self._noise_next += 1
        if self._noise_place == "before":
            at = 0
        elif self._noise_place == "after":
            at = len(lines)
        else:
            at = self._noise_rng.randint(0, len(lines))
        return [*lines[:at], noise, *lines[at:]]

    def _error(self, kind: str, code: int) -> str:
        """+CMS ERROR is always reported (27.005); +CME ERROR only after AT+CMEE=1/2."""
        if kind == "CME" and self._cmee == 0:
            return "ERROR"
        return f"+{kind} ERROR: {code}"

    def _execute(self, command: str, out: list[str]) -> str | None:
        """Run one command; append info lines to ``out``; return the final result code."""
        upper = command.upper()
        if upper == "":
            return "OK"
        if upper[0].isalpha() or upper[0] == "&":
            return self._basic(upper, out)
        name = upper.partition("=")[0]
        query = name.endswith("?")
        name = name.rstrip("?")
        handler: Callable[[str, str, bool, list[str]], str | None] | None = getattr(
            self, "_cmd_" + name.strip("+^$*%").replace("+", "_"), None
        )
        if handler is None or not name.startswith("+"):
            return "ERROR"
        if not self._pin_ok and name not in ("+CPIN", "+CMEE", "+CFUN", "+CGMI", "+CGMM", "+CGMR", "+CGSN", "+CLAC"):
            return self._error("CME", 11)
        # arguments keep their case (PDUs, PINs, USSD strings)
        return handler(command.partition("=")[2], upper, query, out)

    def _basic(self, upper: str, out: list[str]) -> str:
        """V.250 basic commands, several per line (``ATE0V1``); S-registers accepted and ignored."""
        i = 0
        while i < len(upper):
            c = upper[i]
            i += 2 if c == "&" else 1
            start = i
            while i < len(upper) and (upper[i].isdigit() or (c == "S" and upper[i] in "=?")):
                i += 1
            digits = upper[start:i]
            if c == "E":
                self._echo = digits != "0"
            elif c == "Z":
                self._echo = True
                self._cmee = 0
            elif c == "I":
                out.extend([self.MANUFACTURER, self.MODEL, f"Revision: {self.REVISION}"])
            elif c not in "VQX&S":
                return "ERROR"  # dial, answer, hang-up...: not a voice modem
        return "OK"

    def _finish_pdu(self, hexpdu: str) -> None:
        """The PDU typed after the ``> `` prompt of ``AT+CMGS``, up to Ctrl-Z (the command set's)."""
        raise NotImplementedError


def tpdu_len(hexpdu: str) -> int:
    """The TPDU length of a PDU listed with its SMSC field (what ``+CMGL``/``AT+CMGS`` count)."""
    try:
        return len(hexpdu) // 2 - 1 - int(hexpdu[:2], 16)
    except ValueError:
        return len(hexpdu) // 2


def _split_commands(body: str) -> list[str]:
    """``E0;+CMEE=1;+CREG=2`` -> basic block and extended commands, as V.250 concatenation."""
    out: list[str] = []
    for piece in body.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        if piece[0] in "+^$*%":
            out.append(piece)
            continue
        # basic commands first, then possibly an extended one glued after them (ATE0+CMEE=1)
        cut = min((piece.find(c) for c in "+^$" if c in piece), default=-1)
        if cut > 0:
            out.append(piece[:cut])
            out.append(piece[cut:])
        else:
            out.append(piece)
    return out
