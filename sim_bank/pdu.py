"""SMS PDUs (3GPP TS 23.040 / 23.038): segmenting, encoding and decoding.

Pure functions on plain data. Why not python-gsmmodem's ``pdu`` module alone
(see ``../shared/notes/python-gsmmodem.md``): it has no SMS-DELIVER encoder
(the emulator needs one), cannot send emoji (characters beyond the BMP), splits
UCS-2 text by characters rather than UTF-16 code units, ignores data coding
groups other than 00xx (DCS 0x48 and 0xF4 come out as garbage), has ``` ` ```
where GSM 03.38 has ``§`` and raises ``TypeError`` on ``ÿ``. The tests cross-check
this module against ``gsmmodem.pdu.decodeSmsPdu`` where that one is right.

Texts are measured the way the network bills them: GSM-7 in septets (an
extension character such as ``€`` costs two), UCS-2 in UTF-16 code units (an
emoji costs two). One part holds 160 septets / 70 units; a concatenated part
153 / 67, because six octets go to the concatenation header.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from .exceptions import EncodeError, PduError

Encoding = Literal["gsm7", "ucs2", "binary"]

# GSM 03.38 default alphabet; index = septet value. 0x1B is the escape to the
# extension table and is not a character of its own.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    0x0A: "\x0c",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_ESC = 0x1B
_BASIC_INDEX = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != _ESC}
_EXTENSION_INDEX = {ch: code for code, ch in GSM7_EXTENSION.items()}

_SURROGATE = re.compile("[\ud800-\udfff]")

SINGLE_LIMIT = {"gsm7": 160, "ucs2": 70}
PART_LIMIT = {"gsm7": 153, "ucs2": 67}
MAX_PARTS = 255


# ---------------------------------------------------------------- measuring


def gsm7_septets(text: str) -> list[int] | None:
    """The GSM-7 septets for ``text``, or None if it needs UCS-2."""
    out: list[int] = []
    for ch in text:
        code = _BASIC_INDEX.get(ch)
        if code is not None:
            out.append(code)
            continue
        ext = _EXTENSION_INDEX.get(ch)
        if ext is None:
            return None
        out.extend((_ESC, ext))
    return out


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


@dataclass(frozen=True)
class Segments:
    """How a text goes on air: its encoding and the text of each part."""

    encoding: Encoding
    parts: tuple[str, ...]
    units: int  # septets (gsm7) or UTF-16 code units (ucs2) of the whole text

    @property
    def count(self) -> int:
        return len(self.parts)


def _gsm7_cost(ch: str) -> int:
    return 1 if ch in _BASIC_INDEX else 2


def segment(text: str) -> Segments:
    """Split ``text`` into SMS parts without splitting an escape pair or a surrogate pair."""
    if _SURROGATE.search(text):
        raise EncodeError("text holds unpaired UTF-16 surrogates (undecodable input); it cannot be sent")
    septets = gsm7_septets(text)
    if septets is not None:
        cost = [_gsm7_cost(ch) for ch in text]
        encoding: Encoding = "gsm7"
        units = len(septets)
    else:
        cost = [_utf16_units(ch) for ch in text]
        encoding = "ucs2"
        units = sum(cost)
    if units <= SINGLE_LIMIT[encoding]:
        return Segments(encoding, (text,), units)
    limit = PART_LIMIT[encoding]
    parts: list[str] = []
    start = used = 0
    for i, c in enumerate(cost):
        if used + c > limit:
            parts.append(text[start:i])
            start, used = i, 0
        used += c
    parts.append(text[start:])
    if len(parts) > MAX_PARTS:
        raise EncodeError(f"text needs {len(parts)} parts; an SMS can have at most {MAX_PARTS}")
    return Segments(encoding, tuple(parts), units)


def count_parts(text: str) -> int:
    """Number of SMS parts ``text`` is billed as."""
    return segment(text).count


# ---------------------------------------------------------------- low level


def _pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first, after ``fill_bits`` zero bits (to align after a UDH)."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def _unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    bits = int.from_bytes(data, "little") >> fill_bits
    available = (len(data) * 8 - fill_bits) // 7
    if count > available:
        raise PduError(f"user data holds {available} septets, header says {count}")
    return [(bits >> (7 * i)) & 0x7F for i in range(count)]


def _decode_gsm7(septets: list[int]) -> str:
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            # An unknown extension code shows as the default character (23.038 6.2.1.1).
            out.append(GSM7_EXTENSION.get(s, GSM7_BASIC[s] if s != _ESC else " "))
            escaped = False
        elif s == _ESC:
            escaped = True
        else:
            out.append(GSM7_BASIC[s])
    return "".join(out)


def _semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


_BCD = "0123456789*#abc"


def _read_semi_octets(data: bytes, ndigits: int) -> str:
    out: list[str] = []
    for b in data:
        for nibble in (b & 0x0F, b >> 4):
            if len(out) < ndigits and nibble != 0x0F:
                out.append(_BCD[nibble])
    return "".join(out)


def _encode_address(number: str) -> bytes:
    """TP-DA for a number: ``+E164`` (international) or plain digits (unknown type)."""
    if number.startswith("+") and number[1:].isdigit() and number[1:].isascii():
        digits, toa = number[1:], 0x91
    elif number.isdigit() and number.isascii():
        digits, toa = number, 0x81
    else:
        raise EncodeError(f"destination {number!r} is not a phone number (+E.164 or digits)")
    if not 1 <= len(digits) <= 20:
        raise EncodeError(f"destination {number!r} has {len(digits)} digits")
    return bytes((len(digits), toa)) + _semi_octets(digits)


def _encode_alnum_address(name: str) -> bytes:
    septets = gsm7_septets(name)
    if septets is None or not 1 <= len(name) <= 11:
        raise EncodeError(f"alphanumeric sender {name!r} must be 1-11 GSM-7 characters")
    packed = _pack_septets(septets)
    return bytes((len(septets) * 7 // 4 + (1 if len(septets) * 7 % 4 else 0), 0xD0)) + packed


def _encode_timestamp(ts: datetime) -> bytes:
    if ts.tzinfo is None:
        raise EncodeError("timestamp needs a time zone")
    offset = ts.utcoffset() or timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    tz_digits = f"{quarters:02d}"
    tz = _semi_octets(tz_digits)[0]
    if offset < timedelta(0):
        tz |= 0x08
    return _semi_octets(ts.strftime("%y%m%d%H%M%S")) + bytes((tz,))


def _decode_timestamp(data: bytes) -> datetime | None:
    """SCTS -> aware datetime; None if the SMSC sent an impossible date (seen in the wild)."""
    try:
        digits = _read_semi_octets(data[:6], 12)
        tz = data[6]
        quarters = (tz & 0x07) * 10 + (tz >> 4)
        sign = -1 if tz & 0x08 else 1
        tzinfo = timezone(timedelta(minutes=sign * quarters * 15))
        return datetime.strptime(digits, "%y%m%d%H%M%S").replace(tzinfo=tzinfo)
    except (ValueError, IndexError):
        return None


def _concat_ie(ref: int, total: int, seq: int) -> bytes:
    if ref > 0xFF:
        return bytes((0x08, 4, ref >> 8, ref & 0xFF, total, seq))
    return bytes((0x00, 3, ref, total, seq))


def _user_data(encoding: Encoding, text: str, udh: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for ``text`` after an optional user data header."""
    header = bytes((len(udh),)) + udh if udh else b""
    if encoding == "gsm7":
        septets = gsm7_septets(text)
        assert septets is not None
        fill = (7 - (len(header) * 8) % 7) % 7
        udh_septets = (len(header) * 8 + fill) // 7
        return udh_septets + len(septets), header + _pack_septets(septets, fill)
    body = text.encode("utf-16-be")
    return len(header) + len(body), header + body


# ---------------------------------------------------------------- encoding


@dataclass(frozen=True)
class SubmitPdu:
    """One SMS-SUBMIT ready for ``AT+CMGS=<tpdu_length>``; ``hex`` starts with the SMSC field."""

    hex: str
    tpdu_length: int
    part: int
    parts: int


def encode_submit(
    number: str,
    text: str,
    *,
    concat_ref: int = 0,
    status_report: bool = True,
    validity: timedelta | None = timedelta(days=1),
) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for ``text`` to ``number`` (``+E164``), one per part.

    TP-MR is left 0: modems assign their own message reference and report it
    in ``+CMGS: <mr>``. ``concat_ref`` identifies the parts of one long message
    at the handset (8-bit up to 255, 16-bit above); resending missing parts
    with the same reference completes the message on the phone.
    """
    if not 0 <= concat_ref <= 0xFFFF:
        raise EncodeError("concat_ref must be 0..65535")
    seg = segment(text)
    address = _encode_address(number)
    first = 0x01  # SMS-SUBMIT
    if status_report:
        first |= 0x20
    vp = b""
    if validity is not None:
        first |= 0x10  # relative validity period
        vp = bytes((_relative_validity(validity),))
    if seg.count > 1:
        first |= 0x40  # TP-UDHI
    dcs = 0x00 if seg.encoding == "gsm7" else 0x08
    out: list[SubmitPdu] = []
    for i, part in enumerate(seg.parts, start=1):
        udh = _concat_ie(concat_ref, seg.count, i) if seg.count > 1 else b""
        udl, ud = _user_data(seg.encoding, part, udh)
        tpdu = bytes((first, 0x00)) + address + bytes((0x00, dcs)) + vp + bytes((udl,)) + ud
        out.append(SubmitPdu(("00" + tpdu.hex()).upper(), len(tpdu), i, seg.count))
    return out


def _relative_validity(period: timedelta) -> int:
    minutes = period.total_seconds() / 60
    if minutes <= 12 * 60:
        return max(0, int(minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + int((minutes - 12 * 60) // 30)
    days = period.days
    if days <= 30:
        return 166 + days
    return min(255, 192 + days // 7)


def encode_deliver(
    sender: str,
    text: str,
    *,
    timestamp: datetime,
    concat_ref: int = 0,
    smsc: str = "+989350001000",
    dcs: int | None = None,
) -> list[str]:
    """SMS-DELIVER PDUs (hex, with SMSC field) as a modem stores received messages.

    ``sender`` is ``+E164``, plain digits (a short code) or an alphanumeric
    name. ``dcs`` forces a data coding scheme byte (tests of odd phones);
    by default GSM-7 when possible, else UCS-2.
    """
    if sender.startswith("+") or sender.isdigit():
        oa = _encode_address(sender)
    else:
        oa = _encode_alnum_address(sender)
    smsc_digits = smsc.lstrip("+")
    smsc_field = bytes((1 + (len(smsc_digits) + 1) // 2, 0x91)) + _semi_octets(smsc_digits)
    seg = segment(text)
    encoding = seg.encoding
    if dcs is None:
        dcs = 0x00 if encoding == "gsm7" else 0x08
    first = 0x04  # SMS-DELIVER, TP-MMS: no more messages waiting
    if seg.count > 1:
        first |= 0x40
    ts = _encode_timestamp(timestamp)
    out = []
    for i, part in enumerate(seg.parts, start=1):
        udh = _concat_ie(concat_ref, seg.count, i) if seg.count > 1 else b""
        udl, ud = _user_data(encoding, part, udh)
        tpdu = bytes((first,)) + oa + bytes((0x00, dcs)) + ts + bytes((udl,)) + ud
        out.append((smsc_field + tpdu).hex().upper())
    return out


def encode_status_report(
    recipient: str,
    reference: int,
    status: int,
    *,
    sent: datetime,
    discharged: datetime,
) -> str:
    """SMS-STATUS-REPORT PDU (hex, empty SMSC field) for ``+CDS`` / stored reports."""
    tpdu = (
        bytes((0x06, reference & 0xFF))  # SMS-STATUS-REPORT, TP-SRQ
        + _encode_address(recipient)
        + _encode_timestamp(sent)
        + _encode_timestamp(discharged)
        + bytes((status & 0xFF,))
    )
    return "00" + tpdu.hex().upper()


# ---------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Concat:
    """Concatenation header of one part: parts with equal (ref, total) from one sender belong together."""

    ref: int
    total: int
    seq: int


@dataclass(frozen=True)
class Deliver:
    """A decoded SMS-DELIVER."""

    sender: str
    sender_type: int  # TOA byte: 0x91 international, 0xD0 alphanumeric, ...
    text: str
    encoding: Encoding
    dcs: int
    sent_at: datetime | None
    concat: Concat | None
    smsc: str | None
    port: int | None  # application port (WAP push, OTA ...): a machine, not a person
    binary: bytes | None  # 8-bit data payload, when encoding == "binary"

    @property
    def alphanumeric_sender(self) -> bool:
        return (self.sender_type & 0x70) == 0x50


@dataclass(frozen=True)
class StatusReport:
    """A decoded SMS-STATUS-REPORT (TP-ST per 23.040 9.2.3.15)."""

    reference: int
    recipient: str
    sent_at: datetime | None
    discharged_at: datetime | None
    status: int

    @property
    def final(self) -> bool:
        """0x20-0x3F: the SMSC is still trying; everything else is final."""
        return not 0x20 <= self.status <= 0x3F

    @property
    def delivered(self) -> bool:
        return self.status <= 0x1F


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise PduError(f"PDU ends before {what}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError(f"PDU ends inside {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def _read_address(r: _Reader, what: str) -> tuple[str, int]:
    ndigits = r.byte(what)
    toa = r.byte(what)
    raw = r.take((ndigits + 1) // 2, what)
    if (toa & 0x70) == 0x50:  # alphanumeric: ndigits counts semi-octets of packed septets
        return _decode_gsm7(_unpack_septets(raw, ndigits * 4 // 7)), toa
    digits = _read_semi_octets(raw, ndigits)
    return ("+" + digits if (toa & 0x70) == 0x10 else digits), toa


def _read_smsc(r: _Reader) -> str | None:
    n = r.byte("SMSC length")
    if n == 0:
        return None
    raw = r.take(n, "SMSC address")
    digits = _read_semi_octets(raw[1:], 2 * (n - 1))
    return "+" + digits if (raw[0] & 0x70) == 0x10 else digits


def _alphabet(dcs: int) -> Encoding:
    """Character set from a TP-DCS byte (23.038 clause 4), all coding groups."""
    group = dcs >> 4
    if group <= 0x7:  # 00xx general / 01xx automatic deletion
        if dcs & 0x20:
            raise PduError(f"compressed text (DCS 0x{dcs:02X}) is not supported")
        return ("gsm7", "binary", "ucs2", "gsm7")[(dcs >> 2) & 0x03]
    if group == 0xE:  # message waiting indication, UCS-2
        return "ucs2"
    if group == 0xF:  # data coding / message class
        return "binary" if dcs & 0x04 else "gsm7"
    return "gsm7"  # 1000-1011 reserved, 1100-1101 MWI with GSM-7


def _ucs2_text(data: bytes) -> str:
    """UTF-16BE with surrogate pairs joined; a lone surrogate becomes U+FFFD (SQLite rejects it)."""
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-be", errors="replace")


def _read_udh(raw: bytes) -> tuple[Concat | None, int | None]:
    concat: Concat | None = None
    port: int | None = None
    i = 0
    while i + 2 <= len(raw):
        iei, ln = raw[i], raw[i + 1]
        body = raw[i + 2 : i + 2 + ln]
        if len(body) < ln:
            raise PduError("user data header element runs past the header")
        if iei == 0x00 and ln == 3 and body[1] and body[2]:
            concat = Concat(body[0], body[1], body[2])
        elif iei == 0x08 and ln == 4 and body[2] and body[3]:
            concat = Concat(body[0] << 8 | body[1], body[2], body[3])
        elif iei == 0x04 and ln == 2:
            port = body[0]
        elif iei == 0x05 and ln == 4:
            port = body[0] << 8 | body[1]
        i += 2 + ln
    if concat is not None and (concat.seq > concat.total or concat.total < 2):
        concat = None  # a header that cannot be right: treat the part as a message on its own
    return concat, port


def _hex_bytes(pdu: str) -> bytes:
    try:
        return binascii.unhexlify(pdu.strip())
    except (binascii.Error, ValueError) as exc:
        raise PduError(f"not hexadecimal: {exc}") from None


@dataclass(frozen=True)
class _UserData:
    text: str
    encoding: Encoding
    concat: Concat | None
    port: int | None
    binary: bytes | None


def _read_user_data(first: int, dcs: int, udl: int, ud: bytes) -> _UserData:
    """TP-UD after TP-UDL: header (when TP-UDHI) and text in the alphabet the DCS names."""
    encoding = _alphabet(dcs)
    concat = port = None
    header_len = 0
    if first & 0x40 and ud:
        header_len = ud[0] + 1
        if header_len > len(ud):
            raise PduError("user data header longer than the user data")
        concat, port = _read_udh(ud[1:header_len])
    if encoding == "gsm7":
        fill = (7 - (header_len * 8) % 7) % 7 if header_len else 0
        skip = (header_len * 8 + fill) // 7
        if udl < skip:
            raise PduError("user data length shorter than its header")
        text = _decode_gsm7(_unpack_septets(ud[header_len:], udl - skip, fill))
        return _UserData(text, encoding, concat, port, None)
    body = ud[header_len:udl] if udl >= header_len else b""
    if encoding == "ucs2":
        return _UserData(_ucs2_text(body), encoding, concat, port, None)
    return _UserData("", encoding, concat, port, bytes(body))


def decode(pdu: str) -> Deliver | StatusReport:
    """Decode a PDU as a modem lists it (hex, SMSC field first).

    Raises :class:`PduError` for anything that is not a well-formed
    SMS-DELIVER or SMS-STATUS-REPORT; the caller keeps the raw PDU.
    """
    r = _Reader(_hex_bytes(pdu))
    smsc = _read_smsc(r)
    first = r.byte("first octet")
    mti = first & 0x03
    if mti == 0x02:
        ref = r.byte("message reference")
        recipient, _ = _read_address(r, "recipient address")
        sent = _decode_timestamp(r.take(7, "service centre timestamp"))
        discharged = _decode_timestamp(r.take(7, "discharge time"))
        return StatusReport(ref, recipient, sent, discharged, r.byte("status"))
    if mti != 0x00:
        raise PduError(f"not an SMS-DELIVER or status report (first octet 0x{first:02X})")
    sender, toa = _read_address(r, "sender address")
    r.byte("protocol identifier")
    dcs = r.byte("data coding scheme")
    sent_at = _decode_timestamp(r.take(7, "service centre timestamp"))
    udl = r.byte("user data length")
    ud = _read_user_data(first, dcs, udl, r.rest())
    return Deliver(sender, toa, ud.text, ud.encoding, dcs, sent_at, ud.concat, smsc, ud.port, ud.binary)


def submit_text(pdu: str) -> tuple[str, str, Concat | None]:
    """(destination, text, concat) of an SMS-SUBMIT PDU; used by the emulator and tests."""
    r = _Reader(_hex_bytes(pdu))
    _read_smsc(r)
    first = r.byte("first octet")
    if first & 0x03 != 0x01:
        raise PduError(f"not an SMS-SUBMIT (first octet 0x{first:02X})")
    r.byte("message reference")
    number, _ = _read_address(r, "destination address")
    r.byte("protocol identifier")
    dcs = r.byte("data coding scheme")
    vpf = (first >> 3) & 0x03
    if vpf == 0x02:
        r.byte("validity period")
    elif vpf in (0x01, 0x03):
        r.take(7, "validity period")
    udl = r.byte("user data length")
    ud = _read_user_data(first, dcs, udl, r.rest())
    return number, (ud.text if ud.binary is None else ud.binary.hex()), ud.concat
