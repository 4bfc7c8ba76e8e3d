"""An AT-command GSM modem on a pseudo-terminal, for tests, benchmarks and ``--simulate``.

The emulator owns the master side of a pty (:mod:`sim_bank.emulator_pty`); clients
(python-gsmmodem over pyserial, gammu, smstools) open the slave path exactly as they
would open ``/dev/ttyUSB0``. It speaks enough of 3GPP TS 27.005/27.007 in PDU mode for the
unmodified ``GsmModem.connect()`` and gammu to accept it, and it behaves like
the modems in ``../shared/notes/peers.md``: echo on after power-up and ``ATZ``,
replies framed ``\\r\\n<line>\\r\\n``, the ``\\r\\n> `` prompt for ``AT+CMGS``, plain
``ERROR`` for unknown commands, and unsolicited result codes written the moment
they happen -- also in the middle of another command's response, which is
what real modems do and what loses messages in naive clients.

Control API (thread-safe): :meth:`ModemEmulator.inject_sms`,
:meth:`~ModemEmulator.inject_pdus`, :meth:`~ModemEmulator.inject_cbm` (a cell broadcast's
``+CBM`` pages, to a client listening with ``AT+CSCB``), :attr:`~ModemEmulator.sent`,
:meth:`~ModemEmulator.set_send_latency`, :meth:`~ModemEmulator.fail_next_sends`,
:meth:`~ModemEmulator.set_signal`, :meth:`~ModemEmulator.set_registration`,
:meth:`~ModemEmulator.stored`, :meth:`~ModemEmulator.set_dialect` (answer as a Huawei or a
Wavecom does: ``dialect="huawei"`` at construction), :meth:`~ModemEmulator.set_noise`
(unsolicited lines such as ``^RSSI:17`` slipped into answers),
:meth:`~ModemEmulator.fail_next_listing` / :meth:`~ModemEmulator.fail_next_selection`
(``AT+CMGL`` / ``AT+CPMS="<mem>"`` refused for a while), :attr:`~ModemEmulator.command_log`
and :meth:`~ModemEmulator.exchange_times` (when each command arrived).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from . import pdu as pdu_codec
from .emulator_at import AtInterpreter
from .emulator_cbm import CellBroadcastCommands
from .emulator_line import DIALECTS, TEHRAN, Dialect, Notify, SentMessage, SentPdu
from .emulator_pty import PtyPort

__all__ = ["DIALECTS", "TEHRAN", "Dialect", "ModemEmulator", "Notify", "SentMessage", "SentPdu"]


class ModemEmulator(CellBroadcastCommands, AtInterpreter):
    """One emulated modem with its SIM on a pty. ``start()`` opens it; ``port`` is what clients open."""

    def __init__(
        self,
        modem_id: str = "emu0",
        *,
        link: Path | None = None,
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
        super().__init__(
            modem_id,
            own_number=own_number,
            operator=operator,
            smsc=smsc,
            capacity=capacity,
            first_index=first_index,
            send_latency=send_latency,
            pin=pin,
            tz=tz,
            imei=imei,
            dialect=dialect,
        )
        self.link = link
        self._pty = PtyPort(modem_id, link, self._feed, self._redeliver)

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> str:
        """The path a client opens: the stable link if one was asked for, else the pty slave."""
        return self._pty.path

    def start(self) -> ModemEmulator:
        self._pty.start()
        return self

    def stop(self) -> None:
        self._pty.stop()

    def __enter__(self) -> ModemEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ control API

    def inject_sms(
        self,
        sender: str,
        text: str,
        *,
        timestamp: datetime | None = None,
        dcs: int | None = None,
        notify: Notify = "immediate",
    ) -> int:
        """The network delivers an SMS from ``sender``; long texts arrive as concatenated parts,
        all their ``+CMTI`` in one burst. Returns the number of parts."""
        ts = timestamp or datetime.now(self.tz).replace(microsecond=0)
        pdus = pdu_codec.encode_deliver(
            sender, text, timestamp=ts, concat_ref=next(self._concat) % 256, smsc=self.smsc, dcs=dcs
        )
        self.inject_pdus(pdus, notify=notify)
        return len(pdus)

    def inject_pdus(self, pdus: list[str], *, notify: Notify = "immediate") -> None:
        """Deliver raw SMS-DELIVER PDUs (also malformed ones).

        ``notify``: "immediate" writes their URCs now, in one write; "none" stores
        them silently (a lost +CMTI); "in_response" slips the URCs into the
        response of the next command, before its final OK (notes #2).
        """
        urcs: list[str] = []
        with self._lock:
            for p in pdus:
                self._received.append(p)
                urc = self._deliver(p)
                if urc:
                    urcs.append(urc)
            if notify == "in_response":
                self._urcs_in_response.extend(urcs)
                return
        if urcs and notify == "immediate":
            self._write("".join(f"\r\n{u}\r\n" for u in urcs))

    def inject_burst(self, messages: list[tuple[str, str]]) -> None:
        """Several customers' SMS arrive at once: every ``+CMTI`` in a single write."""
        pdus: list[str] = []
        ts = datetime.now(self.tz).replace(microsecond=0)
        for sender, text in messages:
            pdus += pdu_codec.encode_deliver(
                sender, text, timestamp=ts, concat_ref=next(self._concat) % 256, smsc=self.smsc
            )
        self.inject_pdus(pdus)

    @property
    def sent(self) -> list[SentMessage]:
        """Messages the client sent, parts joined as a handset would (in the order they began)."""
        with self._lock:
            pdus = list(self._sent)
        slots: list[SentMessage | tuple[str, int, int]] = []
        groups: dict[tuple[str, int, int], list[SentPdu]] = {}
        for sp in pdus:
            if sp.concat is None:
                slots.append(SentMessage(sp.number, sp.text, 1, (sp.reference,)))
                continue
            key = (sp.number, sp.concat[0], sp.concat[1])
            if key not in groups:
                groups[key] = []
                slots.append(key)
            groups[key].append(sp)
        out: list[SentMessage] = []
        for slot in slots:
            if isinstance(slot, SentMessage):
                out.append(slot)
                continue
            parts = sorted(groups[slot], key=lambda s: s.concat[2] if s.concat else 0)
            text = "".join(s.text for s in parts)
            out.append(SentMessage(slot[0], text, len(parts), tuple(s.reference for s in parts)))
        return out

    @property
    def sent_pdus(self) -> list[SentPdu]:
        with self._lock:
            return list(self._sent)

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """Block until at least ``count`` messages were sent; return them (tests)."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.sent
            if len(messages) >= count:
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.modem_id}: {len(messages)} of {count} messages sent")
            with self._sent_cond:
                self._sent_cond.wait(min(remaining, 0.05))

    def stored(self, memory: str | None = None) -> dict[int, str]:
        """What is on the SIM now: index -> raw PDU."""
        with self._lock:
            mem = self._memories[memory or self._mem[2]]
            return {i: s.pdu for i, s in sorted(mem.slots.items())}

    @property
    def network_queue(self) -> int:
        """Messages the network is holding because the SIM storage is full."""
        with self._lock:
            return len(self._network_queue)

    def set_send_latency(self, seconds: float) -> None:
        with self._lock:
            self._send_latency = seconds

    def fail_next_sends(self, count: int, code: int = 38, *, after: int = 0) -> None:
        """Let ``after`` sends through, then answer ``count`` sends with ``+CMS ERROR: code``."""
        with self._lock:
            self._fail_sends.extend([None] * after + [code] * count)

    def sim_locked(self) -> bool:
        """Whether the SIM still waits for its PIN (no one entered it)."""
        with self._lock:
            return not self._pin_ok

    def set_signal(self, rssi: int) -> None:
        with self._lock:
            self._rssi = rssi

    def set_registration(self, status: int) -> None:
        """1 home, 5 roaming, 2 searching, 3 denied, 0 not searching; emits +CREG if enabled."""
        with self._lock:
            changed = status != self._creg
            self._creg = status
            mode = self._creg_mode
        if changed and mode:
            self._write(f"\r\n+CREG: {status}\r\n")

    def set_ussd_delay(self, seconds: float) -> None:
        """How long the network takes to answer a USSD request."""
        with self._lock:
            self._ussd_delay = seconds

    def set_ussd_reply(self, code: str, text: str, dcs: int = 15, *, session: bool = False) -> None:
        """What the network answers to ``AT+CUSD=1,"code"`` (dcs 72 = UCS-2, sent as hex).
        ``session``: the answer is a menu and the network waits for a reply (``+CUSD: 1``);
        replies are looked up the same way (``set_ussd_reply("1", ...)``)."""
        with self._lock:
            self._ussd[code] = (text, dcs, session)

    def fail_sends_at_rate(self, rate: float, code: int = 38) -> None:
        """Answer a share ``rate`` of sends with ``+CMS ERROR: code`` (0 stops it)."""
        with self._lock:
            self._fail_rate = (rate, code) if rate > 0 else None

    def delivery_reports(
        self, statuses: list[int] | None = None, *, delay: float = 0.05, split: bool = False, stored: bool = False
    ) -> None:
        """After each part sent with a report requested, report each TP-ST in ``statuses`` in turn
        (``[0]`` delivered; ``[0x20, 0]`` still trying, then delivered; ``[0x41]`` failed).
        ``split`` sends a ``+CDS`` header and its PDU apart (notes #3); ``stored`` keeps reports
        in the SR memory and announces them with ``+CDSI``, as some modems always do.
        ``None`` stops reports."""
        with self._lock:
            self._reports = list(statuses) if statuses is not None else None
            self._report_delay = delay
            self._report_split = split
            self._report_storage = stored

    def hang(self, hung: bool = True) -> None:
        """Stop answering (commands are taken, nothing comes back), or start again."""
        with self._lock:
            self._hung = hung

    def unplug(self) -> None:
        """The USB cable is pulled: the pty and its link disappear (the SIM keeps its messages)."""
        self._pty.unplug()

    def replug(self) -> None:
        """The modem is back, on a new pty behind the same link (as udev would do it)."""
        self._pty.replug()

    def set_capacity(self, capacity: int, memory: str | None = None) -> None:
        """Storage size of one memory, or of all (SIM storage full tests)."""
        with self._lock:
            for name, mem in self._memories.items():
                if memory in (None, name):
                    mem.capacity = capacity

    def override(self, command: str, lines: list[str] | None) -> None:
        """Answer ``command`` (exactly as sent, e.g. ``AT+CFUN?``) with ``lines`` instead --
        the last one being the result code. ``None`` restores the normal answer."""
        with self._lock:
            if lines is None:
                self._overrides.pop(command.upper(), None)
            else:
                self._overrides[command.upper()] = list(lines)

    def fail_next_listing(self, memory: str, code: int = 314) -> None:
        """The next ``AT+CMGL`` while ``memory`` is selected answers ``+CMS ERROR: code`` (314: SIM busy)."""
        with self._lock:
            self._fail_listing[memory] = code

    def fail_next_selection(self, memory: str, code: int | None = 314, *, kind: str = "CMS", count: int = 1) -> None:
        """The next ``count`` ``AT+CPMS`` naming ``memory`` answer ``+<kind> ERROR: code``
        (+CMS 314: SIM busy, as just after boot; 302: no such memory), plain ``ERROR`` when
        ``code`` is None. The memory and its messages stay as they are."""
        with self._lock:
            self._fail_selection[memory.upper()] = [(kind, code)] * count

    def write_raw(self, data: bytes) -> None:
        """Put raw bytes on the line (noise, a non-UTF-8 byte, half a URC)."""
        self._write_bytes(data)

    # ------------------------------------------------------------ I/O

    def _write_bytes(self, data: bytes) -> None:
        self._pty.write(data)
