"""python-gsmmodem, adapted: the two places where we must step into the library.

* Flow control is configurable (the library hard-codes RTS/CTS and DSR/DTR on,
  which breaks some SIM800/SIM7600 setups).
* Its reader loop dies on the first byte that is not UTF-8, silently; ours
  restarts it.
* Its notification dispatch (which reads and deletes an SMS on ``+CMTI`` before
  anyone stored it, and runs each notification on a thread of its own) is
  replaced by one callback that only hands the lines to the worker.

Subclassing only: no library code is copied (it is LGPL-3.0+).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gsmmodem.modem import GsmModem
from gsmmodem.serial_comms import SerialComms

from .types import ModemConfig

PROMPT_CANCEL_WAIT = 0.2  # seconds for a modem to answer the ESC that cancels a stale SMS prompt


class GatewayComms(SerialComms):  # type: ignore[misc]  # python-gsmmodem ships no type hints
    """Sits between ``GsmModem`` and ``SerialComms`` in the MRO (see :class:`Modem`)."""

    flow_control = False
    alive = False  # set by the library
    on_line_noise: Callable[[], None] | None = None

    def connect(self) -> None:
        super().connect()
        if not self.flow_control:  # the library hard-codes rtscts/dsrdtr=True
            self.serial.rtscts = False
            self.serial.dsrdtr = False
        # A gateway killed between AT+CMGS and its PDU leaves the modem at the "> " prompt,
        # where every command is taken as PDU text and never answered. ESC cancels the
        # prompt (gammu opens the same way), CR ends a half-typed line; what the modem says
        # to it arrives before the first command and is passed on as a stray line.
        self.serial.write(b"\x1b\r")
        time.sleep(PROMPT_CANCEL_WAIT)

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
                self.fatalErrorCallback(exc)
                return


class Modem(GsmModem, GatewayComms):  # type: ignore[misc]  # untyped library class
    """The library's modem with our notification dispatch (runs on its reader thread)."""

    def __init__(self, config: ModemConfig, on_urc: Callable[[list[str]], None], on_fatal: Callable[[Any], None]):
        # exclusive: a second process (another gateway, ModemManager) cannot open the port under us
        super().__init__(config.port, config.baudrate, requestDelivery=True, exclusive=True)
        self.fatalErrorCallback = on_fatal
        self.flow_control = config.flow_control
        self._on_urc = on_urc

    def _handleModemNotification(self, lines: list[str]) -> None:
        self._on_urc(list(lines))
