"""Acting on what a modem says by itself (unsolicited result codes), wherever it lands.

A URC comes as a notification on the library's reader thread, or inside the
response of whatever command was waiting (notes #2); both end up here. New
messages only ask for a sweep (the sweep lists the memory: notes #1), status
reports become :class:`DeliveryReport` events, USSD answers are queued for the
request waiting for them, registration changes become health events. A ``+CDS``
header whose PDU line comes apart from it is joined with that line (notes #3).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import structlog

from . import at, pdu
from .exceptions import PduError
from .types import BankEvent, DeliveryReport, ModemHealth

log = structlog.get_logger("sim_bank.worker")


class UrcHandler:
    """One modem's URCs. Thread-safe: called from the reader thread and the worker's."""

    def __init__(
        self, modem_id: str, *, emit: Callable[[BankEvent], None], request_sweep: Callable[[str | None], None]
    ) -> None:
        self.modem_id = modem_id
        self._emit = emit
        self._request_sweep = request_sweep
        self.ussd_replies: queue.Queue[str] = queue.Queue()  # +CUSD lines, for the request waiting
        self._cds_header = False  # a +CDS came without its PDU line; the next line is it
        self._cds_lock = threading.Lock()  # touched by the reader thread and the worker's thread

    def reset(self) -> None:
        """A new connection: no half of a report is waiting any more."""
        with self._cds_lock:
            self._cds_header = False

    def notification(self, lines: list[str]) -> None:
        """The library's notification callback (reader thread): only parse and queue, never block."""
        try:
            self.handle(lines)
        except Exception:
            log.exception("modem_urc_failed", modem_id=self.modem_id)

    def handle(self, lines: list[str]) -> None:
        """Act on result codes, from a notification or from a command's response. A ``+CDS``
        header whose PDU line did not come with it is joined with that line when it comes
        (notes #3) -- wherever it lands, as a notification or inside the next response. An
        empty call (the library reports notifications with no lines) changes nothing: it must
        not forget a header still waiting for its PDU."""
        if not lines:
            return
        with self._cds_lock:
            if self._cds_header and lines and at.is_hex_pdu(lines[0].strip()):
                lines = ["+CDS: 0", *lines]
            self._cds_header = bool(lines) and lines[-1].startswith("+CDS:")
        for urc in at.parse_urcs(lines):
            if urc.kind == "sms" or urc.kind == "report":
                self._request_sweep(urc.memory)
            elif urc.kind == "report_pdu" and urc.pdu:
                self._status_report(urc.pdu)
            elif urc.kind == "report_pdu" and not self._cds_header:
                self._request_sweep("SR")  # a report announced without its PDU: look in the report memory
            elif urc.kind == "ussd":
                self.ussd_replies.put(urc.line)
            elif urc.kind == "creg" and urc.index is not None:
                self._emit(ModemHealth(self.modem_id, None, urc.index))
            elif urc.kind == "other" and urc.line not in ("OK", "> ") and not at.is_hex_pdu(urc.line):
                log.debug("modem_unsolicited", modem_id=self.modem_id, line=urc.line)

    def scan_response(self, lines: list[str], command: str) -> None:
        """A URC that arrived while a command waited is part of its response (notes #2):
        every one is acted on, wherever it landed, recognised by its prefix."""
        if self._cds_header and lines and at.is_hex_pdu(lines[0].strip()):
            self.handle(lines[:1])  # the PDU of a +CDS that came just before this command
            lines = lines[1:]
        urcs = at.unsolicited(lines, command)
        if urcs:
            self.handle(urcs)

    def drain_ussd(self) -> None:
        """Forget USSD answers nobody waited for."""
        while not self.ussd_replies.empty():
            self.ussd_replies.get_nowait()

    def _status_report(self, hexpdu: str) -> None:
        try:
            report = pdu.decode(hexpdu)
        except PduError as exc:
            log.warning("status_report_undecodable", modem_id=self.modem_id, error=str(exc), pdu=hexpdu)
            return
        if isinstance(report, pdu.StatusReport):
            self._emit(DeliveryReport(self.modem_id, report, hexpdu))
