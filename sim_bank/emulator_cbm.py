"""The emulated modem's cell broadcast side: ``AT+CSCB`` and the ``+CBM`` pages of a broadcast.

As on a real modem, a page reaches the client only when it asked for it: its message
identifier among those ``AT+CSCB=0,"..."`` accepted, and ``AT+CNMI``'s ``<bm>`` set to 2.
The pages are real TS 23.041 PDUs (:func:`sim_bank.cbm.encode`), one ``+CBM`` each.
"""

from __future__ import annotations

import re

from . import cbm
from .emulator_line import AtLine

BM_DIRECT = 2


class CellBroadcastCommands(AtLine):
    """``AT+CSCB`` and :meth:`inject_cbm`, mixed into the emulator."""

    _cscb_mode = 1  # after power-up a modem accepts no message identifiers ("reject" the empty list)
    _cscb_channels: tuple[tuple[int, int], ...] = ()
    _cscb_text = ""

    def _cmd_CSCB(self, arg: str, upper: str, query: bool, out: list[str]) -> str:
        if query:
            out.append(f'+CSCB: {self._cscb_mode},"{self._cscb_text}",""')
            return "OK"
        if arg == "?":
            out.append("+CSCB: (0,1)")
            return "OK"
        mode, _, rest = arg.partition(",")
        mode = mode.strip().strip('"')
        quoted = re.findall(r'"([^"]*)"', rest)
        mids = quoted[0] if quoted else ""
        if mode not in ("0", "1"):
            return self._error("CMS", 303)
        try:
            channels = cbm.parse_channels(mids) if mids else []
        except ValueError:
            return self._error("CMS", 303)
        with self._lock:
            self._cscb_mode = int(mode)
            self._cscb_channels = tuple(channels)
            self._cscb_text = mids
        return "OK"

    def listening(self, message_id: int) -> bool:
        """Whether a broadcast of ``message_id`` would reach the client now."""
        with self._lock:
            if self._cnmi[2] != BM_DIRECT:
                return False
            inside = any(a <= message_id <= b for a, b in self._cscb_channels)
            return inside if self._cscb_mode == 0 else not inside and bool(self._cscb_channels)

    def inject_cbm(self, message_id: int, serial: int, text: str, language: str | None = None) -> int:
        """The network broadcasts ``text`` in this cell (``serial``: :func:`sim_bank.cbm.serial_number`);
        returns how many pages reached the client (0: it is not listening to ``message_id``)."""
        pages = cbm.encode(message_id, serial, text, language)
        if not self.listening(message_id):
            return 0
        self.inject_cbm_pdus(pages)
        return len(pages)

    def inject_cbm_pdus(self, pdus: list[str]) -> None:
        """Pages as they are, malformed ones too, each as its own ``+CBM`` (when ``<bm>`` is 2)."""
        with self._lock:
            if self._cnmi[2] != BM_DIRECT:
                return
        for p in pdus:
            with self._urc_lock:  # a modem emits one unsolicited result at a time
                self._write(f"\r\n+CBM: {len(p) // 2}\r\n{p}\r\n")
