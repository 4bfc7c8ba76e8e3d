"""Parsing of AT command responses and unsolicited result codes.

Pure functions over the lines python-gsmmodem hands back (``write()`` returns
the response lines; notifications arrive as a list of lines). We parse
``+CMGL`` ourselves rather than use ``listStoredSms`` because the library
skips an undecodable PDU and thereby shifts the index of the next message
(see the notes): here every listed entry keeps the index the modem gave it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CMGL = re.compile(r"^\+CMGL:\s*(\d+)\s*,\s*(\d+)\s*,[^,]*,\s*(\d+)\s*$")
_CMTI = re.compile(r'^\+CMTI:\s*"?([A-Za-z]+)"?\s*,\s*(\d+)\s*$')
_CDSI = re.compile(r'^\+CDSI:\s*"?([A-Za-z]+)"?\s*,\s*(\d+)\s*$')
_CDS = re.compile(r"^\+CDS:\s*(\d+)\s*$")
_CBM = re.compile(r"^\+CBM:\s*(\d+)\s*$")  # PDU mode: "+CBM: <length>", the page on the next line
_CMGS = re.compile(r"^\+CMGS:\s*(\d+)")
_CSQ = re.compile(r"^\+CSQ:\s*(\d+)\s*,\s*(\d+)")
_CREG_URC = re.compile(r"^\+CREG:\s*(\d)\s*(?:,\s*\"?[0-9A-Fa-f]*\"?\s*,\s*\"?[0-9A-Fa-f]*\"?.*)?$")
_CREG = re.compile(r"^\+C(?:E|G)?REG:\s*(?:(\d)\s*,\s*)?(\d)(?:\s*,|\s*$)")
_CREG_ANSWER = re.compile(r"^\+C(?:E|G)?REG:\s*\d\s*,\s*\d")  # "+CREG: <n>,<stat>": a URC has no <n>
_REGISTRATION = frozenset({"+CREG", "+CGREG", "+CEREG"})
_COPS = re.compile(r'^\+COPS:\s*(\d)(?:\s*,\s*(\d)\s*,\s*"([^"]*)")?')
_CPMS = re.compile(r'^\+CPMS:\s*(?:"(\w+)"\s*,\s*)?(\d+)\s*,\s*(\d+)')
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_PREFIX = re.compile(r"^([+^*$%#][A-Za-z][A-Za-z0-9_]*)\s*:")  # "+CPMS:", "^RSSI:", "*PSUTTZ:"
_QUOTED = re.compile(r'"([^"]*)"')
# Result codes a modem sends by itself, with or without a command running: a line with
# one of these prefixes is never the answer to another command.
URC_PREFIXES = frozenset(
    {
        "+CMTI", "+CMT", "+CDSI", "+CDS", "+CBM", "+CBMI", "+CUSD", "+CREG", "+CGREG", "+CEREG",
        "+C5GREG", "+CRING", "+CLIP", "+CCWA", "+CIEV", "+CGEV", "+CSQN", "+CTZV", "+CTZE", "+CTZU",
        "+CPIN", "+WIND", "+QIND", "+QUSIM", "+STIN", "*PSUTTZ", "+ZPASR", "+ZDONR", "+ZUSIMR",
        "+ZEND",
    }
)  # fmt: skip
# Whole lines some modems send by themselves (ring, SIM800/Quectel start-up chatter).
URC_WORDS = frozenset(
    {"RING", "CALL READY", "SMS READY", "RDY", "NORMAL POWER DOWN", "PB DONE", "+PBREADY", "NO CARRIER"}
)
# Result codes whose PDU comes on the line after them (PDU mode: "+CBM: <length>" then the page).
PDU_HEADERS = frozenset({"+CDS", "+CMT", "+CBM"})
_ERROR = re.compile(r"^\+CM[ES] ERROR\b")
FINAL_CODES = ("OK", "ERROR", "NO CARRIER", "COMMAND NOT SUPPORT")
# Seconds to wait for the final result code after an answer some modems never end with one
# (a Wavecom's ``+CPIN: READY``): a modem sends it at once or never.
LATE_FINAL_WAIT = 0.3


def line_prefix(line: str) -> str | None:
    """``"+CPMS: (...)"`` -> ``"+CPMS"``; ``"^RSSI:17"`` -> ``"^RSSI"``; a bare line -> None."""
    m = _PREFIX.match(line.strip())
    return m.group(1).upper() if m else None


def command_prefix(command: str) -> str | None:
    """The prefix a command's own answer carries: ``AT+CPMS=?`` -> ``+CPMS``, ``AT^SYSCFG?`` ->
    ``^SYSCFG``; None for basic commands (``ATI``, ``ATZ``)."""
    body = command.strip()
    if body[:2].upper() == "AT":
        body = body[2:]
    m = re.match(r"[+^*$%#][A-Za-z][A-Za-z0-9_]*", body)
    return m.group(0).upper() if m else None


def is_urc(line: str, command: str | None = None) -> bool:
    """Whether ``line`` is a result code the modem sent by itself rather than (part of) the
    answer to ``command``: a Huawei ``^XXXX:`` line, ``+CREG:``, ``+CMTI:``, ``RING``...
    A line with the command's own prefix is its answer (``+CREG: 0,1`` answers ``AT+CREG?``)."""
    text = line.strip()
    prefix = line_prefix(text)
    if prefix is None:
        return text.upper() in URC_WORDS
    if prefix in _REGISTRATION:  # "+CREG: 2" is news even inside the answer to AT+CREG?
        return not _CREG_ANSWER.match(text)
    if command is not None and prefix == command_prefix(command):
        return False
    return prefix in URC_PREFIXES or prefix.startswith("^")


def is_final(line: str) -> bool:
    """A final result code: the answer to a command ends here."""
    text = line.strip()
    return text in FINAL_CODES or bool(_ERROR.match(text))


def answer_lines(lines: list[str], command: str) -> list[str]:
    """The lines that answer ``command``, in order: without unsolicited result codes, the
    echo, blank lines and the final result code -- wherever those landed."""
    echo = command.strip().upper()
    out = []
    for line in lines:
        text = line.strip()
        if text and text.upper() != echo and not is_final(text) and not is_urc(text, command):
            out.append(text)
    return out


def info_value(lines: list[str], command: str) -> str | None:
    """The value an identification command answers (``AT+CGMI`` -> ``huawei``, ``AT+CGSN`` ->
    the IMEI): the first answer line, bare or after the command's own prefix. Never a URC
    that landed in the answer (``^BOOT:...``)."""
    found = answer_lines(lines, command)
    if not found:
        return None
    value = found[0]
    if line_prefix(value) == command_prefix(command):
        value = value.split(":", 1)[1]
    return value.strip().strip('"').strip() or None


def parse_cpms_support(lines: list[str]) -> tuple[tuple[str, ...], ...] | None:
    """The memories of each ``+CPMS`` parameter from the answer to ``AT+CPMS=?``
    (``+CPMS: ("ME","SM","SR"),("ME","SM"),("ME","SM")``): read/delete, write/send, receive.
    Found by its prefix, wherever it is among the lines; None when no line has it."""
    for line in lines:
        if line_prefix(line) != "+CPMS":
            continue
        body = line.split(":", 1)[1]
        groups = re.findall(r"\(([^)]*)\)", body) or [body]
        return tuple(tuple(name.strip().upper() for name in _QUOTED.findall(g)) for g in groups)
    return None


def unsolicited(lines: list[str], command: str) -> list[str]:
    """The unsolicited result codes that landed in the answer to ``command``, in order, each
    with the lines that belong to it: the PDU after ``+CDS:``/``+CMT:``, the rest of a
    ``+CUSD`` text that runs over several lines."""
    return separate(lines, command)[1]


def separate(lines: list[str], command: str) -> tuple[list[str], list[str]]:
    """``lines`` split into the answer to ``command`` (final result code included) and the
    unsolicited result codes with the lines that belong to them (see :func:`unsolicited`)."""
    answer: list[str] = []
    urcs: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not is_urc(line, command):
            answer.append(line)
            continue
        urcs.append(line)
        prefix = line_prefix(line)
        if prefix in PDU_HEADERS and i < len(lines) and is_hex_pdu(lines[i].strip()):
            urcs.append(lines[i])
            i += 1
        elif prefix == "+CUSD":
            text = line
            while not cusd_complete(text) and i < len(lines) and not is_final(lines[i]):
                text += "\n" + lines[i]
                urcs.append(lines[i])
                i += 1
    return answer, urcs


@dataclass(frozen=True)
class Listed:
    """One entry of ``AT+CMGL=4``: storage index, status and the raw PDU as listed."""

    index: int
    status: int
    pdu: str


def parse_cmgl(lines: list[str]) -> tuple[list[Listed], list[str]]:
    """Entries of a ``+CMGL`` response, and the lines that were not part of one.

    The stray lines are unsolicited results the modem slipped into the
    response (a ``+CMTI`` while the listing ran); the caller acts on them.
    """
    entries: list[Listed] = []
    stray: list[str] = []
    pending: tuple[int, int] | None = None
    for line in lines:
        m = _CMGL.match(line)
        if m:
            pending = (int(m.group(1)), int(m.group(2)))
            continue
        if pending is not None and is_urc(line, "AT+CMGL"):
            stray.append(line)  # a result code between an entry's header and its PDU
            continue
        if pending is not None:
            pending_entry, pending = pending, None
            if is_hex_pdu(line.strip()):
                entries.append(Listed(pending_entry[0], pending_entry[1], line.strip()))
                continue
            # the PDU line was garbled away: skip the entry (it stays on the SIM for the next
            # sweep) rather than take the next line ("OK") for its PDU
        if line != "OK":
            stray.append(line)
    return entries, stray


def is_hex_pdu(line: str) -> bool:
    return bool(_HEX.match(line)) and len(line) % 2 == 0


def continues(header: str, line: str) -> bool:
    """Whether ``line`` is the PDU line of the result code ``header`` (``+CDS:``, ``+CMT:``,
    ``+CBM:``) read just before it. A ``+CBM`` page is taken as it is, hex or not, as
    :func:`parse_urcs` takes it (the handler says why it cannot be read): any bare line
    that is neither a result code nor a final one."""
    prefix = line_prefix(header)
    if prefix not in PDU_HEADERS:
        return False
    text = line.strip()
    if is_hex_pdu(text):
        return True
    return prefix == "+CBM" and bool(text) and line_prefix(text) is None and not is_urc(text) and not is_final(text)


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code we act on."""

    kind: str  # "sms" (+CMTI), "report" (+CDSI), "report_pdu" (+CDS), "cbm" (+CBM), "ussd", "creg", "other"
    memory: str | None = None
    index: int | None = None
    pdu: str | None = None
    line: str = ""


def parse_urcs(lines: list[str]) -> list[Urc]:
    """Every URC in a burst of lines (the library hands several at once, or
    slips them into a command's response). ``+CDS:`` takes its PDU from the
    next line; a header whose PDU never came is reported as ``report_pdu``
    without a PDU so the caller can sweep the report memory instead."""
    out: list[Urc] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if m := _CMTI.match(line):
            out.append(Urc("sms", m.group(1), int(m.group(2)), line=line))
        elif m := _CDSI.match(line):
            out.append(Urc("report", m.group(1), int(m.group(2)), line=line))
        elif _CDS.match(line):
            pdu = None
            if i < len(lines) and is_hex_pdu(lines[i].strip()):
                pdu = lines[i].strip()
                i += 1
            out.append(Urc("report_pdu", pdu=pdu, line=line))
        elif _CBM.match(line):
            pdu = None
            if i < len(lines) and lines[i].strip() and not (is_urc(lines[i]) or is_final(lines[i])):
                pdu = lines[i].strip()  # taken even when it is no PDU: the handler says why
                i += 1
            out.append(Urc("cbm", pdu=pdu, line=line))
        elif line.startswith("+CUSD"):
            body = [line]
            while not cusd_complete("\n".join(body)) and i < len(lines):
                body.append(lines[i])  # a USSD text with line breaks arrives as several lines
                i += 1
            out.append(Urc("ussd", line="\n".join(body)))
        elif m := _CREG_URC.match(line):
            out.append(Urc("creg", index=int(m.group(1)), line=line))
        elif line:
            out.append(Urc("other", line=line))
    return out


def cusd_complete(text: str) -> bool:
    """A +CUSD result is complete when its quoted text (if any) is closed."""
    return text.count('"') % 2 == 0


def parse_cmgs(lines: list[str]) -> int | None:
    """Message reference from ``+CMGS: <mr>``, or None if the modem gave none."""
    for line in lines:
        if m := _CMGS.match(line):
            return int(m.group(1))
    return None


def parse_csq(lines: list[str]) -> int | None:
    """RSSI 0-31 from ``+CSQ``; None when the modem says 99 (not known)."""
    for line in lines:
        if m := _CSQ.match(line):
            rssi = int(m.group(1))
            return None if rssi == 99 else rssi
    return None


def parse_creg(lines: list[str]) -> int | None:
    """Registration status from ``+CREG?``: 1 home, 5 roaming, 2 searching, 3 denied, 0 idle.
    The answer (``+CREG: <n>,<stat>``) is taken over a ``+CREG: <stat>`` URC that landed in it."""
    answers = [line.strip() for line in lines if _CREG_ANSWER.match(line.strip())]
    for line in answers or lines:
        if m := _CREG.match(line.strip()):
            return int(m.group(2))
    return None


def parse_cops(lines: list[str]) -> str | None:
    for line in lines:
        if m := _COPS.match(line):
            return m.group(3) or None
    return None


def parse_cpms(lines: list[str]) -> tuple[int, int] | None:
    """(used, total) of the first memory in a ``+CPMS`` answer."""
    for line in lines:
        if m := _CPMS.match(line):
            return int(m.group(2)), int(m.group(3))
    return None
