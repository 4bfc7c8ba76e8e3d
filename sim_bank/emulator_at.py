"""The AT command interpreter behind the emulated modem: state, input parsing, answers.

No I/O here: what the modem says goes to :meth:`AtInterpreter._write_bytes`,
which collects it in ``output`` (so the interpreter can be driven directly);
:class:`~sim_bank.emulator.ModemEmulator` sends it down a pseudo-terminal.
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
from datetime import datetime, timedelta, timezone
from typing import Literal

from gsmmodem.pdu import decodeSmsPdu

from . import pdu as pdu_codec
from .exceptions import PduError

CTRL_Z = 0x1A
ESC = 0x1B
TEHRAN = timezone(timedelta(hours=3, minutes=30))
Notify = Literal["immediate", "none", "in_response"]
NoisePlace = Literal["before", "after", "random"]

# +CMS ERROR codes the emulator itself produces
CMS_INVALID_PDU = 304
CMS_INVALID_INDEX = 321
CMS_MEMORY_FULL = 322
CMS_NO_NETWORK = 331


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
class _Slot:
    status: int  # 0 unread, 1 read, 2 stored unsent, 3 stored sent
    pdu: str


@dataclass
class _Memory:
    capacity: int
    slots: dict[int, _Slot] = field(default_factory=dict)

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


def _fix_surrogates(text: str) -> str:
    """python-gsmmodem returns characters beyond the BMP as lone surrogates."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class AtInterpreter:
    """A modem's SIM, network and command set, without the serial line."""

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
            "SM": _Memory(capacity),
            "ME": _Memory(capacity),
            "SR": _Memory(capacity),
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

    def _deliver(self, p: str) -> str | None:
        """Store one incoming PDU per +CNMI and return the URC to emit (lock held)."""
        mt = self._cnmi[1]
        if mt in (2, 3):
            return f"+CMT: ,{_tpdu_len(p)}\r\n{p}"
        memory = self._memories[self._mem[2]]
        index = memory.free_index(self.first_index)
        if index is None:
            self._network_queue.append(p)  # the network keeps it and retries later
            return None
        memory.slots[index] = _Slot(0, p)
        return f'+CMTI: "{self._mem[2]}",{index}' if mt == 1 else None

    def _redeliver(self) -> None:
        """Hand messages the network held back to the SIM once there is room."""
        urcs = []
        with self._lock:
            while self._network_queue:
                memory = self._memories[self._mem[2]]
                if memory.free_index(self.first_index) is None:
                    break
                urc = self._deliver(self._network_queue.popleft())
                if urc:
                    urcs.append(urc)
        for u in urcs:
            self._write(f"\r\n{u}\r\n")

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

    # identity
    def _cmd_CGMI(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(self.MANUFACTURER)
        return "OK"

    _cmd_GMI = _cmd_CGMI

    def _cmd_CGMM(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(self.MODEL)
        return "OK"

    _cmd_GMM = _cmd_CGMM

    def _cmd_CGMR(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(self.REVISION)
        return "OK"

    _cmd_GMR = _cmd_CGMR

    def _cmd_CGSN(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(self.imei)
        return "OK"

    _cmd_GSN = _cmd_CGSN

    def _cmd_CIMI(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(self.imsi)
        return "OK"

    def _cmd_CNUM(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if self.own_number and not upper.endswith("=?"):
            out.append(f'+CNUM: "","{self.own_number}",145')
        return "OK"

    def _cmd_CLAC(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        names = sorted(n[5:] for n in dir(self) if n.startswith("_cmd_"))
        out.append("+CLAC: " + ",".join("+" + n for n in names))
        return "OK"

    # general settings
    def _cmd_CMEE(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append(f"+CMEE: {self._cmee}")
        elif arg and arg != "?":
            self._cmee = int(arg) if arg.isdigit() else 1
        return "OK"

    def _cmd_CFUN(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append("+CFUN: 1")
        return "OK"

    def _cmd_CPIN(self, arg: str, upper: str, query: bool, out: list[str]) -> str | None:
        if query:
            out.append("+CPIN: READY" if self._pin_ok else "+CPIN: SIM PIN")
            if not self.dialect.cpin_final:
                self._flush(out)  # the answer and nothing after it: no OK ever comes
                return None
            return "OK"
        if arg.strip('"').split('"')[0] == self._pin or self._pin_ok:
            self._pin_ok = True
            return "OK"
        return self._error("CME", 16)

    def _cmd_CSCS(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append('+CSCS: "GSM"')
        elif arg == "?":
            out.append('+CSCS: ("GSM","UCS2","IRA","HEX")')
        return "OK"

    def _ok(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        return "OK"

    _cmd_CLIP = _cmd_CRC = _cmd_CVHU = _cmd_CMMS = _cmd_CNMA = _cmd_CSMS = _ok

    # network
    def _cmd_CSQ(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        out.append(f"+CSQ: {self._rssi},99")
        return "OK"

    def _cmd_CREG(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        prefix = upper.partition("=")[0].rstrip("?")  # +CREG or +CGREG
        if query:
            extra = ',"00C3","0E2B"' if self._creg_mode == 2 else ""
            out.append(f"{prefix}: {self._creg_mode},{self._creg}{extra}")
        elif arg == "?":
            out.append(f"{prefix}: (0-2)")
        elif arg.isdigit() and prefix == "+CREG":
            self._creg_mode = int(arg)
        return "OK"

    _cmd_CGREG = _cmd_CREG

    def _cmd_CGATT(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append("+CGATT: 0")  # an SMS gateway SIM, no packet data
        return "OK"

    def _cmd_COPS(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            if self._creg in (1, 5):
                out.append(f'+COPS: 0,0,"{self.operator}",0')
            else:
                out.append("+COPS: 0")
        elif arg == "?":
            out.append(f'+COPS: (2,"{self.operator}","EMU","43299"),,(0-4),(0-2)')
        return "OK"

    # SMS settings
    def _cmd_CMGF(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append(f"+CMGF: {self._cmgf}")
        elif arg == "?":
            out.append("+CMGF: (0)")
        elif arg != "0":
            return self._error("CMS", 303)  # this modem speaks PDU mode only
        return "OK"

    def _cmd_CSCA(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append(f'+CSCA: "{self.smsc}",145')
        elif arg:
            self.smsc = arg.split(",")[0].strip('"')
        return "OK"

    def _cmd_CSMP(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append("+CSMP: 17,167,0,0")
        return "OK"

    def _cmd_CNMI(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append("+CNMI: " + ",".join(map(str, self._cnmi)))
        elif arg == "?":
            out.append("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")
        elif arg:
            values = [v.strip() for v in arg.split(",")]
            for i, v in enumerate(values[:5]):
                if v.isdigit():
                    self._cnmi[i] = int(v)
        return "OK"

    def _cmd_CPMS(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if arg == "?":
            out.append(f"+CPMS: {self.dialect.storages}")
            return "OK"
        if query:
            out.append("+CPMS: " + ",".join(f'"{m}",{self._usage(m)}' for m in self._mem))
            return "OK"
        names = [a.strip().strip('"').upper() for a in arg.split(",") if a.strip()]
        if not names or any(n not in self._memories for n in names):
            return self._error("CMS", 302)
        for n in names:
            failures = self._fail_selection.get(n)
            if failures:
                kind, code = failures.pop(0)
                return "ERROR" if code is None else self._error(kind, code)
        for i, n in enumerate(names[:3]):
            self._mem[i] = n
        out.append("+CPMS: " + ",".join(self._usage(m) for m in self._mem))
        return "OK"

    def _usage(self, name: str) -> str:
        m = self._memories[name]
        return f"{len(m.slots)},{m.capacity}"

    # stored messages
    def _cmd_CMGL(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if arg == "?":
            out.append("+CMGL: (0-4)")
            return "OK"
        stat = int(arg) if arg.isdigit() else 4
        code = self._fail_listing.pop(self._mem[0], None)
        if code is not None:
            return self._error("CMS", code)
        memory = self._memories[self._mem[0]]
        for index, slot in sorted(memory.slots.items()):
            if stat == 4 or slot.status == stat:
                out.append(f"+CMGL: {index},{slot.status},,{_tpdu_len(slot.pdu)}")
                out.append(slot.pdu)
                if slot.status == 0:
                    slot.status = 1
        return "OK"

    def _cmd_CMGR(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if not arg.isdigit():
            return self._error("CMS", CMS_INVALID_INDEX)
        slot = self._memories[self._mem[0]].slots.get(int(arg))
        if slot is None:
            return self._error("CMS", CMS_INVALID_INDEX)
        out.append(f"+CMGR: {slot.status},,{_tpdu_len(slot.pdu)}")
        out.append(slot.pdu)
        if slot.status == 0:
            slot.status = 1
        return "OK"

    def _cmd_CMGD(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if arg == "?":
            out.append("+CMGD: (1-255),(0-4)")
            return "OK"
        parts = [p.strip() for p in arg.split(",")]
        if not parts or not parts[0].isdigit():
            return self._error("CMS", CMS_INVALID_INDEX)
        index = int(parts[0])
        flag = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        slots = self._memories[self._mem[0]].slots
        if flag == 0:
            slots.pop(index, None)
        else:
            doomed = {1: (1,), 2: (1, 3), 3: (1, 2, 3), 4: (0, 1, 2, 3)}.get(flag, ())
            for i in [i for i, s in slots.items() if s.status in doomed]:
                del slots[i]
        return "OK"

    def _cmd_CMGS(self, arg: str, upper: str, query: bool, out: list[str]) -> str | None:
        if arg == "?" or not arg.isdigit():
            return "OK" if arg == "?" else self._error("CMS", CMS_INVALID_PDU)
        self._pdu_wait = int(arg)
        self._cmgs_at = time.time()
        self._write("\r\n> ")
        return None

    def _finish_pdu(self, hexpdu: str) -> None:
        expected = self._pdu_wait
        self._pdu_wait = None
        if self._hung:
            return  # the PDU went in; whether it went out, nobody will ever say
        with self._lock:
            latency = self._send_latency
        if latency:
            time.sleep(latency)  # the modem is busy on air; input waits in the line buffer
        with self._lock:
            result = self._accept_submit(hexpdu, expected)
            self._sent_cond.notify_all()
            if self._noise:  # a report of its own between the PDU and +CMGS (or after it)
                lines = self._with_noise([result])
                result = "".join(line if line is result else f"\r\n{line}\r\n" for line in lines)
        self._write(result)

    def _accept_submit(self, hexpdu: str, expected: int | None) -> str:
        try:
            smsc_len = int(hexpdu[:2], 16)
            tpdu_len = len(hexpdu) // 2 - 1 - smsc_len
            if expected is not None and tpdu_len != expected:
                raise PduError(f"length {tpdu_len}, AT+CMGS said {expected}")
            fields = decodeSmsPdu(hexpdu)
            if fields.get("type") != "SMS-SUBMIT":
                raise PduError("not an SMS-SUBMIT")
        except Exception:  # noqa: BLE001 - any garbage from the client is a PDU error, as on a modem
            return f"\r\n{self._error('CMS', CMS_INVALID_PDU)}\r\n"
        if self._fail_sends and (code := self._fail_sends.popleft()) is not None:
            return f"\r\n{self._error('CMS', code)}\r\n"
        if self._fail_rate is not None and self._rng.random() < self._fail_rate[0]:
            return f"\r\n{self._error('CMS', self._fail_rate[1])}\r\n"
        if self._creg not in (1, 5):
            return f"\r\n{self._error('CMS', CMS_NO_NETWORK)}\r\n"
        concat = None
        for ie in fields.get("udh", []) or []:
            if getattr(ie, "parts", None):
                concat = (ie.reference, ie.parts, ie.number)
        try:  # the library mis-decodes GSM-7 after a 16-bit concatenation header
            number, text, _ = pdu_codec.submit_text(hexpdu)
        except PduError:
            number, text = fields["number"], _fix_surrogates(fields.get("text") or "")
        mr = next(self._mr) % 256
        self._sent.append(SentPdu(number, text, mr, concat, hexpdu, time.time(), self._cmgs_at))
        first_octet = int(hexpdu[(smsc_len + 1) * 2 : (smsc_len + 2) * 2], 16)
        if first_octet & 0x20 and self._reports:
            self._schedule_reports(number, mr)
        return f"\r\n+CMGS: {mr}\r\n\r\nOK\r\n"

    def _schedule_reports(self, number: str, mr: int) -> None:
        """The SMSC reports on the message, once per status in the configured sequence."""
        assert self._reports is not None
        now = datetime.now(self.tz).replace(microsecond=0)
        for i, status in enumerate(self._reports, start=1):
            report = pdu_codec.encode_status_report(number, mr, status, sent=now, discharged=now)
            threading.Timer(self._report_delay * i, self._deliver_report, args=(report,)).start()

    def _deliver_report(self, report: str) -> None:
        """+CDS (CNMI ds=2: straight to the client) or stored in SR with +CDSI (ds=1)."""
        with self._lock:
            ds = 1 if self._report_storage else self._cnmi[3]
            urc = None
            if ds == 1:
                memory = self._memories["SR"]
                index = memory.free_index(self.first_index)
                if index is None:
                    return  # report memory full: the report is lost, as on a real modem
                memory.slots[index] = _Slot(0, report)
                urc = f'+CDSI: "SR",{index}'
            split = self._report_split
        if ds == 2:
            header = f"\r\n+CDS: {_tpdu_len(report)}\r\n"
            with self._urc_lock:  # a modem emits one unsolicited result at a time
                if split:  # header and PDU in separate bursts (notes #3)
                    self._write(header)
                    time.sleep(0.05)
                    self._write(f"{report}\r\n")
                else:
                    self._write(f"{header}{report}\r\n")
        elif urc is not None:
            self._write(f"\r\n{urc}\r\n")

    # USSD
    def _cmd_CUSD(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append("+CUSD: 1")
            return "OK"
        parts = arg.split(",")
        if parts[0].strip() == "2":
            self._ussd_session = False
            return "OK"
        if len(parts) >= 2:
            code = parts[1].strip('"')
            reply = self._ussd.get(code)
            if reply is None or (code[:1] not in "*#" and not self._ussd_session):
                answer = "+CUSD: 4"  # no such service (or a menu answer without a menu)
                self._ussd_session = False
            else:
                text, dcs, session = reply
                body = text.encode("utf-16-be").hex().upper() if dcs == 72 else text
                answer = f'+CUSD: {1 if session else 0},"{body}",{dcs}'
                self._ussd_session = session
            threading.Timer(self._ussd_delay, self._write, args=(f"\r\n{answer}\r\n",)).start()
        return "OK"


def _tpdu_len(hexpdu: str) -> int:
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
