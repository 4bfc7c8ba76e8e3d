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

This module puts whole PDUs together and takes them apart; the alphabet is
:mod:`sim_bank.gsm7`, the octet-level fields (addresses, timestamps, user data)
:mod:`sim_bank.pdu_fields`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from .exceptions import EncodeError, PduError
from .gsm7 import gsm7_cost, gsm7_septets
from .pdu_fields import (
    Concat,
    Encoding,
    Reader,
    concat_ie,
    decode_timestamp,
    encode_address,
    encode_alnum_address,
    encode_timestamp,
    hex_bytes,
    read_address,
    read_smsc,
    read_user_data,
    relative_validity,
    semi_octets,
    user_data,
)

_SURROGATE = re.compile("[\ud800-\udfff]")

SINGLE_LIMIT = {"gsm7": 160, "ucs2": 70}
PART_LIMIT = {"gsm7": 153, "ucs2": 67}
MAX_PARTS = 255


# ---------------------------------------------------------------- measuring


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


def segment(text: str) -> Segments:
    """Split ``text`` into SMS parts without splitting an escape pair or a surrogate pair."""
    if _SURROGATE.search(text):
        raise EncodeError("text holds unpaired UTF-16 surrogates (undecodable input); it cannot be sent")
    septets = gsm7_septets(text)
    if septets is not None:
        cost = [gsm7_cost(ch) for ch in text]
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
    address = encode_address(number)
    first = 0x01  # SMS-SUBMIT
    if status_report:
        first |= 0x20
    vp = b""
    if validity is not None:
        first |= 0x10  # relative validity period
        vp = bytes((relative_validity(validity),))
    if seg.count > 1:
        first |= 0x40  # TP-UDHI
    dcs = 0x00 if seg.encoding == "gsm7" else 0x08
    out: list[SubmitPdu] = []
    for i, part in enumerate(seg.parts, start=1):
        udh = concat_ie(concat_ref, seg.count, i) if seg.count > 1 else b""
        udl, ud = user_data(seg.encoding, part, udh)
        tpdu = bytes((first, 0x00)) + address + bytes((0x00, dcs)) + vp + bytes((udl,)) + ud
        out.append(SubmitPdu(("00" + tpdu.hex()).upper(), len(tpdu), i, seg.count))
    return out


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
        oa = encode_address(sender)
    else:
        oa = encode_alnum_address(sender)
    smsc_digits = smsc.lstrip("+")
    smsc_field = bytes((1 + (len(smsc_digits) + 1) // 2, 0x91)) + semi_octets(smsc_digits)
    seg = segment(text)
    encoding = seg.encoding
    if dcs is None:
        dcs = 0x00 if encoding == "gsm7" else 0x08
    first = 0x04  # SMS-DELIVER, TP-MMS: no more messages waiting
    if seg.count > 1:
        first |= 0x40
    ts = encode_timestamp(timestamp)
    out = []
    for i, part in enumerate(seg.parts, start=1):
        udh = concat_ie(concat_ref, seg.count, i) if seg.count > 1 else b""
        udl, ud = user_data(encoding, part, udh)
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
        + encode_address(recipient)
        + encode_timestamp(sent)
        + encode_timestamp(discharged)
        + bytes((status & 0xFF,))
    )
    return "00" + tpdu.hex().upper()


# ---------------------------------------------------------------- decoding


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


def report_state(status: int) -> str:
    """TP-ST (23.040 9.2.3.15) -> what it means for the part: ``delivered``, ``pending`` (a
    temporary error, the SMSC is still trying) or ``failed``."""
    if status <= 0x1F:
        return "delivered"
    if status <= 0x3F:
        return "pending"
    return "failed"


def decode(pdu: str) -> Deliver | StatusReport:
    """Decode a PDU as a modem lists it (hex, SMSC field first).

    Raises :class:`PduError` for anything that is not a well-formed
    SMS-DELIVER or SMS-STATUS-REPORT; the caller keeps the raw PDU.
    """
    r = Reader(hex_bytes(pdu))
    smsc = read_smsc(r)
    first = r.byte("first octet")
    mti = first & 0x03
    if mti == 0x02:
        ref = r.byte("message reference")
        recipient, _ = read_address(r, "recipient address")
        sent = decode_timestamp(r.take(7, "service centre timestamp"))
        discharged = decode_timestamp(r.take(7, "discharge time"))
        return StatusReport(ref, recipient, sent, discharged, r.byte("status"))
    if mti != 0x00:
        raise PduError(f"not an SMS-DELIVER or status report (first octet 0x{first:02X})")
    sender, toa = read_address(r, "sender address")
    r.byte("protocol identifier")
    dcs = r.byte("data coding scheme")
    sent_at = decode_timestamp(r.take(7, "service centre timestamp"))
    udl = r.byte("user data length")
    ud = read_user_data(first, dcs, udl, r.rest())
    return Deliver(sender, toa, ud.text, ud.encoding, dcs, sent_at, ud.concat, smsc, ud.port, ud.binary)


def submit_text(pdu: str) -> tuple[str, str, Concat | None]:
    """(destination, text, concat) of an SMS-SUBMIT PDU; used by the emulator and tests."""
    r = Reader(hex_bytes(pdu))
    read_smsc(r)
    first = r.byte("first octet")
    if first & 0x03 != 0x01:
        raise PduError(f"not an SMS-SUBMIT (first octet 0x{first:02X})")
    r.byte("message reference")
    number, _ = read_address(r, "destination address")
    r.byte("protocol identifier")
    dcs = r.byte("data coding scheme")
    vpf = (first >> 3) & 0x03
    if vpf == 0x02:
        r.byte("validity period")
    elif vpf in (0x01, 0x03):
        r.take(7, "validity period")
    udl = r.byte("user data length")
    ud = read_user_data(first, dcs, udl, r.rest())
    return number, (ud.text if ud.binary is None else ud.binary.hex()), ud.concat
