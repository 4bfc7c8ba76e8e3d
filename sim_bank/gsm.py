"""python-gsmmodem, adapted: the places where we must step into the library.

* The port is opened here (:func:`sim_bank.ports.open_serial`): a device path, or a
  modem on the network (``rfc2217://``, ``socket://``, pyserial's ``serial_for_url``);
  flow control is configurable (the library hard-codes RTS/CTS and DSR/DTR on,
  which breaks some SIM800/SIM7600 setups).
* Its reader loop dies on the first byte that is not UTF-8, silently; ours
  restarts it.
* Its notification dispatch (which reads and deletes an SMS on ``+CMTI`` before
  anyone stored it, and runs each notification on a thread of its own) is
  replaced by one callback that only hands the lines to the worker.
* It reads some answers by position (``AT+CGMI``'s first line is the manufacturer,
  ``AT+CLAC``'s the command list): an unsolicited line that lands in such an answer
  (Huawei's ``^RSSI:17``) is taken out before it sees the answer, and handed on as
  the notification it is.
* A result code still arriving when a command goes out (its header read, its PDU line
  on the way) would be split by the library: the PDU line taken into the command's
  answer, the header held back until some later notification -- a ``+CBM`` page or a
  ``+CDS`` report lost. Here the header is handed on with its PDU line.
* Wavecom modems answer ``AT+CPIN?`` with ``+CPIN: READY`` and no final ``OK``;
  the library then waits out 15 s on every connect. Here the ``+CPIN:`` line ends
  that answer, and an ``OK`` that follows it is awaited briefly and swallowed.

Subclassing only: no library code is copied (it is LGPL-3.0+).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import serial
from gsmmodem.modem import GsmModem
from gsmmodem.serial_comms import SerialComms

from . import at, ports
from .types import PROMPT_CANCEL_WAIT, ModemConfig

# Answers some modems never end with a final result code: the line with this prefix ends them.
ANSWER_ENDS = {"AT+CPIN?": "+CPIN:"}  # Wavecom
# Answers the library reads by position (``write(...)[0]``, ``len(response) == 2``).
READ_BY_POSITION = frozenset(
    {
        "AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+GMI", "AT+GMM", "AT+GMR", "AT+GSN", "AT+CIMI",
        "AT+CLAC", "AT+CSQ", "AT+CNUM", "AT+CSCS=?", "AT+CSCS?",
    }
)  # fmt: skip


class GatewayComms(SerialComms):  # type: ignore[misc]  # python-gsmmodem ships no type hints
    """Sits between ``GsmModem`` and ``SerialComms`` in the MRO (see :class:`Modem`)."""

    flow_control = False
    exclusive = True  # a second program cannot open a local port under us
    prompt_cancel_wait = PROMPT_CANCEL_WAIT  # seconds (ModemConfig.prompt_cancel_wait)
    alive = False  # set by the library
    on_line_noise: Callable[[], None] | None = None
    _answer_ends: str | None = None  # a line starting with this completes the pending answer
    _late_final: threading.Event | None = None  # set when the OK after such a line arrives
    _notification: list[str]  # the library's: lines of a notification still being read

    def connect(self) -> None:
        # The library opens serial.Serial with rtscts/dsrdtr forced on, and only a device path;
        # here any port ports.py knows (/dev/..., rfc2217://, socket://), flow control as set.
        self.serial = ports.open_serial(
            self.port, self.baudrate, timeout=self.timeout, flow_control=self.flow_control, exclusive=self.exclusive
        )
        self.alive = True
        self.rxThread = threading.Thread(target=self._readLoop, name=f"gsm-reader-{self.port}", daemon=True)
        self.rxThread.start()
        # A gateway killed between AT+CMGS and its PDU leaves the modem at the "> " prompt,
        # where every command is taken as PDU text and never answered. ESC cancels the
        # prompt (gammu opens the same way), CR ends a half-typed line; what the modem says
        # to it arrives before the first command and is passed on as a stray line.
        self.serial.write(b"\x1b\r")
        time.sleep(self.prompt_cancel_wait)

    _port_failure: BaseException | None = None  # set by the reader thread when the port fails
    _on_port_failure: Callable[[Any], None] | None = None

    def _port_failed(self, exc: BaseException) -> None:
        """The library's fatal-error callback (reader thread). A command waiting for its answer
        learns at once instead of at its timeout: an unplugged modem is noticed in
        milliseconds even in the middle of a sweep."""
        self._port_failure = exc
        event = self._responseEvent
        if event is not None:
            event.set()
        if self._on_port_failure is not None:
            self._on_port_failure(exc)

    def write(self, data: str, *args: Any, **kwargs: Any) -> Any:
        if self._port_failure is None:
            lines = super().write(data, *args, **kwargs)
            if self._port_failure is None:
                return lines
        raise serial.SerialException(f"the port failed: {self._port_failure}")

    def _handleLineRead(self, line: str, checkForResponseTerm: bool = True) -> None:
        event = self._responseEvent
        waiting = event is not None and not event.is_set()
        if waiting and self._notification and self._urc_went_on(line):
            return
        ends = self._answer_ends
        if waiting and ends is not None and line.startswith(ends):
            self._answer_ends = None
            super()._handleLineRead(line, checkForResponseTerm=False)  # this line completes the answer
            return
        late = self._late_final
        if not waiting and late is not None and not late.is_set() and at.is_final(line):
            late.set()  # the final result code after all: neither a notification nor the next answer
            return
        super()._handleLineRead(line, checkForResponseTerm)

    def _urc_went_on(self, line: str) -> bool:
        """A result code was still arriving when a command went out: its first line read and
        held back by the library (more bytes were on the way), its next line -- a ``+CBM``
        page, a ``+CDS`` report -- read once the command waits. The library would take that
        line for the command's answer and hold the header until some later notification, so
        the page or report was lost. Here what was held is handed on now, with ``line`` when it
        is the header's PDU (then True: the line is used); the answer starts after it."""
        held = self._notification
        self._notification = []
        if at.continues(held[-1], line):
            self.notifyCallback([*held, line])
            return True
        self.notifyCallback(held)
        return False

    def shut(self, timeout: float = 2.0) -> None:
        """Stop the reader thread and close the port, without waiting out a read timeout:
        ``cancel_read`` wakes the reader from its ``serial.read`` at once (the library's
        ``close()`` joins it and so waits for the read to time out)."""
        self.alive = False
        serial_port = getattr(self, "serial", None)
        cancel_read = getattr(serial_port, "cancel_read", None)  # a network port has none: its read
        if cancel_read is not None:  # times out within ``timeout``, or ends when close() shuts the socket
            with contextlib.suppress(OSError):  # SerialException is an OSError
                cancel_read()
        reader = getattr(self, "rxThread", None)
        if reader is not None and reader is not threading.current_thread():
            with contextlib.suppress(RuntimeError):  # never started
                reader.join(timeout)
        if serial_port is not None:
            with contextlib.suppress(OSError):
                serial_port.close()

    def _readLoop(self) -> None:
        # The library's loop dies on the first byte that is not UTF-8 and nobody
        # notices. Restart it; the garbled line is lost, the sweep recovers any SMS.
        while self.alive:
            try:
                super()._readLoop()
            except UnicodeDecodeError:
                if self.on_line_noise is not None:
                    self.on_line_noise()
            except Exception as exc:  # noqa: BLE001 - anything else ends this connection, loudly
                self.alive = False
                self._port_failed(exc)
                return


class Modem(GsmModem, GatewayComms):  # type: ignore[misc]  # untyped library class
    """The library's modem with our notification dispatch (runs on its reader thread)."""

    def __init__(
        self,
        config: ModemConfig,
        on_urc: Callable[[list[str]], None],
        on_fatal: Callable[[Any], None],
    ):
        super().__init__(config.port, config.baudrate, requestDelivery=True)
        self.prompt_cancel_wait = config.prompt_cancel_wait
        self.fatalErrorCallback = self._port_failed
        self._on_port_failure = on_fatal
        self.flow_control = config.flow_control
        self._on_urc = on_urc

    def write(self, data: str, *args: Any, **kwargs: Any) -> Any:
        command = data.strip().upper()
        ends = ANSWER_ENDS.get(command)
        if ends is not None:
            return self._write_ending_with(ends, data, *args, **kwargs)
        lines = super().write(data, *args, **kwargs)
        if command in READ_BY_POSITION and lines:
            lines, urcs = at.separate(lines, command)
            if urcs:
                self._on_urc(urcs)
        return lines

    def _write_ending_with(self, ends: str, data: str, *args: Any, **kwargs: Any) -> Any:
        """Write a command whose answer is complete with its ``ends`` line, OK or not."""
        with self._txLock:
            late = threading.Event()
            self._answer_ends, self._late_final = ends, late
            try:
                lines = super().write(data, *args, **kwargs)
                if lines and lines[-1].startswith(ends):
                    late.wait(at.LATE_FINAL_WAIT)  # let an OK arrive now rather than inside the next answer
                return lines
            finally:
                self._answer_ends = self._late_final = None

    def _handleModemNotification(self, lines: list[str]) -> None:
        self._on_urc(list(lines))
