"""The octet-level fields of an SMS PDU (3GPP TS 23.040): numbers in semi-octets, addresses,
timestamps, the user data and its header -- written and read.

Pure functions on plain data, for :mod:`sim_bank.pdu`, which puts them together
into whole PDUs.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from .exceptions import EncodeError, PduError
from .gsm7 import decode_gsm7, gsm7_septets, pack_septets, unpack_septets

Encoding = Literal["gsm7", "ucs2", "binary"]


# ---------------------------------------------------------------- writing


def semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


_BCD = "0123456789*#abc"


def read_semi_octets(data: bytes, ndigits: int) -> str:
    out: list[str] = []
    for b in data:
        for nibble in (b & 0x0F, b >> 4):
            if len(out) < ndigits and nibble != 0x0F:
                out.append(_BCD[nibble])
    return "".join(out)


def encode_address(number: str) -> bytes:
    """TP-DA for a number: ``+E164`` (international) or plain digits (unknown type)."""
    if number.startswith("+") and number[1:].isdigit() and number[1:].isascii():
        digits, toa = number[1:], 0x91
    elif number.isdigit() and number.isascii():
        digits, toa = number, 0x81
    else:
        raise EncodeError(f"destination {number!r} is not a phone number (+E.164 or digits)")
    if not 1 <= len(digits) <= 20:
        raise EncodeError(f"destination {number!r} has {len(digits)} digits")
    return bytes((len(digits), toa)) + semi_octets(digits)


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two renderings of one number (+989121234567, 09121234567, 989121234567) are one:
    a status report's TP-RA comes back in whatever form the SMSC chose. A report without a
    recipient matches on SIM and reference alone."""
    if not a or not b:
        return True
    da, db_ = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    tail = min(9, len(da), len(db_))
    return tail > 0 and da[-tail:] == db_[-tail:]


def encode_alnum_address(name: str) -> bytes:
    septets = gsm7_septets(name)
    if septets is None or not 1 <= len(name) <= 11:
        raise EncodeError(f"alphanumeric sender {name!r} must be 1-11 GSM-7 characters")
    packed = pack_septets(septets)
    return bytes((len(septets) * 7 // 4 + (1 if len(septets) * 7 % 4 else 0), 0xD0)) + packed


def encode_timestamp(ts: datetime) -> bytes:
    if ts.tzinfo is None:
        raise EncodeError("timestamp needs a time zone")
    offset = ts.utcoffset() or timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    tz_digits = f"{quarters:02d}"
    tz = semi_octets(tz_digits)[0]
    if offset < timedelta(0):
        tz |= 0x08
    return semi_octets(ts.strftime("%y%m%d%H%M%S")) + bytes((tz,))


def decode_timestamp(data: bytes) -> datetime | None:
    """SCTS -> aware datetime; None if the SMSC sent an impossible date (seen in the wild)."""
    try:
        digits = read_semi_octets(data[:6], 12)
        tz = data[6]
        quarters = (tz & 0x07) * 10 + (tz >> 4)
        sign = -1 if tz & 0x08 else 1
        tzinfo = timezone(timedelta(minutes=sign * quarters * 15))
        return datetime.strptime(digits, "%y%m%d%H%M%S").replace(tzinfo=tzinfo)
    except (ValueError, IndexError):
        return None


def concat_ie(ref: int, total: int, seq: int) -> bytes:
    if ref > 0xFF:
        return bytes((0x08, 4, ref >> 8, ref & 0xFF, total, seq))
    return bytes((0x00, 3, ref, total, seq))


def user_data(encoding: Encoding, text: str, udh: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for ``text`` after an optional user data header."""
    header = bytes((len(udh),)) + udh if udh else b""
    if encoding == "gsm7":
        septets = gsm7_septets(text)
        assert septets is not None
        fill = (7 - (len(header) * 8) % 7) % 7
        udh_septets = (len(header) * 8 + fill) // 7
        return udh_septets + len(septets), header + pack_septets(septets, fill)
    body = text.encode("utf-16-be")
    return len(header) + len(body), header + body


def relative_validity(period: timedelta) -> int:
    minutes = period.total_seconds() / 60
    if minutes <= 12 * 60:
        return max(0, int(minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + int((minutes - 12 * 60) // 30)
    days = period.days
    if days <= 30:
        return 166 + days
    return min(255, 192 + days // 7)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Concat:
    """Concatenation header of one part: parts with equal (ref, total) from one sender belong together."""

    ref: int
    total: int
    seq: int


class Reader:
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


def read_address(r: Reader, what: str) -> tuple[str, int]:
    ndigits = r.byte(what)
    toa = r.byte(what)
    raw = r.take((ndigits + 1) // 2, what)
    if (toa & 0x70) == 0x50:  # alphanumeric: ndigits counts semi-octets of packed septets
        return decode_gsm7(unpack_septets(raw, ndigits * 4 // 7)), toa
    digits = read_semi_octets(raw, ndigits)
    return ("+" + digits if (toa & 0x70) == 0x10 else digits), toa


def read_smsc(r: Reader) -> str | None:
    n = r.byte("SMSC length")
    if n == 0:
        return None
    raw = r.take(n, "SMSC address")
    digits = read_semi_octets(raw[1:], 2 * (n - 1))
    return "+" + digits if (raw[0] & 0x70) == 0x10 else digits


def alphabet(dcs: int) -> Encoding:
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


def ucs2_text(data: bytes) -> str:
    """UTF-16BE with surrogate pairs joined; a lone surrogate becomes U+FFFD (SQLite rejects it)."""
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-be", errors="replace")


def read_udh(raw: bytes) -> tuple[Concat | None, int | None]:
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


def hex_bytes(pdu: str) -> bytes:
    try:
        return binascii.unhexlify(pdu.strip())
    except (binascii.Error, ValueError) as exc:
        raise PduError(f"not hexadecimal: {exc}") from None


@dataclass(frozen=True)
class UserData:
    text: str
    encoding: Encoding
    concat: Concat | None
    port: int | None
    binary: bytes | None


def read_user_data(first: int, dcs: int, udl: int, ud: bytes) -> UserData:
    """TP-UD after TP-UDL: header (when TP-UDHI) and text in the alphabet the DCS names."""
    encoding = alphabet(dcs)
    concat = port = None
    header_len = 0
    if first & 0x40 and ud:
        header_len = ud[0] + 1
        if header_len > len(ud):
            raise PduError("user data header longer than the user data")
        concat, port = read_udh(ud[1:header_len])
    if encoding == "gsm7":
        fill = (7 - (header_len * 8) % 7) % 7 if header_len else 0
        skip = (header_len * 8 + fill) // 7
        if udl < skip:
            raise PduError("user data length shorter than its header")
        text = decode_gsm7(unpack_septets(ud[header_len:], udl - skip, fill))
        return UserData(text, encoding, concat, port, None)
    body = ud[header_len:udl] if udl >= header_len else b""
    if encoding == "ucs2":
        return UserData(ucs2_text(body), encoding, concat, port, None)
    return UserData("", encoding, concat, port, bytes(body))
