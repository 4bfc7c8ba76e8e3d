"""The GSM 03.38 default alphabet (3GPP TS 23.038): characters to septets and back, packed.

Pure functions on plain data, shared by the PDU codec (:mod:`sim_bank.pdu`) and
its octet-level fields (:mod:`sim_bank.pdu_fields`).
"""

from __future__ import annotations

from .exceptions import PduError

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
ESC = 0x1B
BASIC_INDEX = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != ESC}
EXTENSION_INDEX = {ch: code for code, ch in GSM7_EXTENSION.items()}


def gsm7_septets(text: str) -> list[int] | None:
    """The GSM-7 septets for ``text``, or None if it needs UCS-2."""
    out: list[int] = []
    for ch in text:
        code = BASIC_INDEX.get(ch)
        if code is not None:
            out.append(code)
            continue
        ext = EXTENSION_INDEX.get(ch)
        if ext is None:
            return None
        out.extend((ESC, ext))
    return out


def gsm7_cost(ch: str) -> int:
    return 1 if ch in BASIC_INDEX else 2


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
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


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    bits = int.from_bytes(data, "little") >> fill_bits
    available = (len(data) * 8 - fill_bits) // 7
    if count > available:
        raise PduError(f"user data holds {available} septets, header says {count}")
    return [(bits >> (7 * i)) & 0x7F for i in range(count)]


def decode_gsm7(septets: list[int]) -> str:
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            # An unknown extension code shows as the default character (23.038 6.2.1.1).
            out.append(GSM7_EXTENSION.get(s, GSM7_BASIC[s] if s != ESC else " "))
            escaped = False
        elif s == ESC:
            escaped = True
        else:
            out.append(GSM7_BASIC[s])
    return "".join(out)
