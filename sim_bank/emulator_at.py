"""The AT command set of the emulated modem: identity, settings, network, SMS, USSD.

Each ``_cmd_<NAME>`` answers ``AT+<NAME>``; :class:`~sim_bank.emulator_line.AtLine`
finds it, runs it and frames what it returns. No I/O here either.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from gsmmodem.pdu import decodeSmsPdu

from . import pdu as pdu_codec
from .emulator_line import AtLine, SentPdu, Slot, tpdu_len
from .exceptions import PduError

# +CMS ERROR codes the emulator itself produces
CMS_INVALID_PDU = 304
CMS_INVALID_INDEX = 321
CMS_MEMORY_FULL = 322
CMS_NO_NETWORK = 331


def _fix_surrogates(text: str) -> str:
    """python-gsmmodem returns characters beyond the BMP as lone surrogates."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class AtInterpreter(AtLine):
    """A modem's SIM, network and command set, without the serial line."""

    def _deliver(self, p: str) -> str | None:
        """Store one incoming PDU per +CNMI and return the URC to emit (lock held)."""
        mt = self._cnmi[1]
        if mt in (2, 3):
            return f"+CMT: ,{tpdu_len(p)}\r\n{p}"
        memory = self._memories[self._mem[2]]
        index = memory.free_index(self.first_index)
        if index is None:
            self._network_queue.append(p)  # the network keeps it and retries later
            return None
        memory.slots[index] = Slot(0, p)
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
                out.append(f"+CMGL: {index},{slot.status},,{tpdu_len(slot.pdu)}")
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
        out.append(f"+CMGR: {slot.status},,{tpdu_len(slot.pdu)}")
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
                memory.slots[index] = Slot(0, report)
                urc = f'+CDSI: "SR",{index}'
            split = self._report_split
        if ds == 2:
            header = f"\r\n+CDS: {tpdu_len(report)}\r\n"
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
