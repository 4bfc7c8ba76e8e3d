"""Acting on what a modem says by itself (unsolicited result codes), wherever it lands.

A URC comes as a notification on the library's reader thread, or inside the
response of whatever command was waiting (notes #2); both end up here. New
messages only ask for a sweep (the sweep lists the memory: notes #1), status
reports become :class:`DeliveryReport` events, USSD answers are queued for the
request waiting for them, registration changes become health events, cell
broadcast pages (``+CBM``) are joined into messages (:mod:`sim_bank.cbm`) and become
:class:`CellBroadcast` events. A ``+CDS`` or ``+CBM`` header whose PDU line comes apart
from it is joined with that line (notes #3).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import structlog

from . import at, cbm, pdu
from .exceptions import PduError
from .types import BankEvent, CellBroadcast, DeliveryReport, ModemHealth

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
        self._header: str | None = None  # a +CDS or +CBM came without its PDU line; the next line is it
        self._cbm = cbm.PageAssembler(on_dropped=self._cbm_dropped)  # its lock: _cds_lock
        self._cds_lock = threading.Lock()  # touched by the reader thread and the worker's thread

    def reset(self) -> None:
        """A new connection: no half of a report is waiting any more."""
        with self._cds_lock:
            self._header = None

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
        lost = None
        with self._cds_lock:
            header = self._header
            if header is not None and at.is_hex_pdu(lines[0].strip()):
                lines = [header, *lines]
            elif header is not None and header.startswith("+CBM:"):
                lost = header  # what came next was no page
            last = lines[-1].strip()
            self._header = last if last.startswith(("+CDS:", "+CBM:")) else None
        if lost is not None:
            log.warning("cell_broadcast_undecodable", modem_id=self.modem_id, error=f"{lost} without its page")
        for urc in at.parse_urcs(lines):
            if urc.kind == "sms" or urc.kind == "report":
                self._request_sweep(urc.memory)
            elif urc.kind == "report_pdu" and urc.pdu:
                self._status_report(urc.pdu)
            elif urc.kind == "report_pdu" and self._header is None:
                self._request_sweep("SR")  # a report announced without its PDU: look in the report memory
            elif urc.kind == "cbm" and urc.pdu:
                self._cell_broadcast(urc.pdu)
            elif urc.kind == "cbm" and self._header is None:  # not the last line, and yet no page
                log.warning("cell_broadcast_undecodable", modem_id=self.modem_id, error=f"{urc.line} without its page")
            elif urc.kind == "ussd":
                self.ussd_replies.put(urc.line)
            elif urc.kind == "creg" and urc.index is not None:
                self._emit(ModemHealth(self.modem_id, None, urc.index))
            elif urc.kind == "other" and urc.line not in ("OK", "> ") and not at.is_hex_pdu(urc.line):
                log.debug("modem_unsolicited", modem_id=self.modem_id, line=urc.line)

    def scan_response(self, lines: list[str], command: str) -> None:
        """A URC that arrived while a command waited is part of its response (notes #2):
        every one is acted on, wherever it landed, recognised by its prefix."""
        if self._header is not None and lines and at.is_hex_pdu(lines[0].strip()):
            self.handle(lines[:1])  # the PDU of a +CDS or +CBM that came just before this command
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

    def _cell_broadcast(self, hexpdu: str) -> None:
        """A ``+CBM`` page: joined with the others of its message, which goes to the gateway whole.
        A page that cannot be read is logged with its PDU and changes nothing."""
        try:
            pages = cbm.decode(hexpdu)
        except PduError as exc:
            log.warning("cell_broadcast_undecodable", modem_id=self.modem_id, error=str(exc), pdu=hexpdu[:200])
            return
        for page in pages:
            with self._cds_lock:
                message = self._cbm.add(page)
            if message is not None:
                self._emit(CellBroadcast(self.modem_id, message))

    def _cbm_dropped(self, page: cbm.Page, heard: int) -> None:
        log.warning(
            "cell_broadcast_incomplete",
            modem_id=self.modem_id,
            message_id=page.message_id,
            serial=page.serial,
            pages_heard=heard,
            pages=page.total,
        )
