"""Cell broadcast pages (3GPP TS 23.041): decoded, joined into messages, and encoded for the emulator.

What the national alert system tells every phone in a cell arrives as ``+CBM`` pages. In PDU
mode each page is the 88-octet block of TS 23.041 9.4.1 -- serial number (geographical scope,
message code, update number), message identifier, data coding scheme (TS 23.038 section 5),
page parameter (page i of n) and 82 octets of content -- or, on modems that pass the UMTS
format on (9.4.2), one block holding every page. Pure functions on plain data; the worker's
URC handler feeds pages to a :class:`PageAssembler` per modem, which hands back whole messages.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .exceptions import PduError
from .gsm7 import ESC, decode_gsm7, gsm7_septets, pack_septets, unpack_septets

PAGE_OCTETS = 88  # a GSM CBS page: 6 octets of header, 82 of content
CONTENT_OCTETS = 82
UMTS_PAGE = CONTENT_OCTETS + 1  # each UMTS page: its content and one octet saying how much of it is used
MAX_PAGES = 15
ASSEMBLY_WINDOW = 300.0  # seconds the first pages of a message wait for the rest (a network repeats it)
MAX_PENDING = 64  # messages being assembled at once on one modem; the oldest is dropped beyond it
# seconds after a message completed in which its pages again are the same copy read twice (a URC
# inside a command's answer is acted on there and by the sweep that lists it), not a repetition:
# a network repeats a broadcast every 1.9 s at the soonest (TS 23.041 9.3.8)
SAME_COPY = 1.5
# TS 23.038 section 5: the languages a GSM-7 data coding scheme names by itself
_DCS_LANGUAGES = {
    0x00: ("de", "en", "it", "fr", "es", "nl", "sv", "da", "pt", "fi", "no", "el", "tr", "hu", "pl", None),
    0x20: ("cs", "he", "ar", "ru", "is"),
}
_CHANNELS = re.compile(r"^\s*\d{1,5}\s*(?:-\s*\d{1,5}\s*)?$")


@dataclass(frozen=True)
class Coding:
    """What a CBS data coding scheme says: the alphabet, the language if it names one, and
    whether each page starts with the language (ISO 639, two letters)."""

    alphabet: str  # gsm7 | ucs2 | 8bit
    language: str | None = None
    indicated: bool = False  # the content starts with the language


@dataclass(frozen=True)
class Page:
    """One page of a cell broadcast as the modem passed it on."""

    message_id: int
    serial: int  # the whole 16-bit serial number: geographical scope, message code, update number
    dcs: int
    number: int  # 1-based
    total: int
    language: str | None
    text: str  # this page's text, padding removed (UCS-2 may end in half a surrogate pair)
    alphabet: str


@dataclass(frozen=True)
class CellMessage:
    """A whole cell broadcast: every page joined. ``serial`` identifies it with ``message_id``."""

    message_id: int
    serial: int
    dcs: int
    language: str | None
    text: str
    pages: int

    @property
    def geo_scope(self) -> int:
        """0 cell wide (immediate), 1 PLMN wide, 2 location area wide, 3 cell wide."""
        return self.serial >> 14

    @property
    def message_code(self) -> int:
        return (self.serial >> 4) & 0x3FF

    @property
    def update_number(self) -> int:
        return self.serial & 0x0F


def serial_number(geo_scope: int, message_code: int, update_number: int) -> int:
    """The 16-bit serial number of TS 23.041 9.4.1.2.1 from its three fields."""
    if not (0 <= geo_scope <= 3 and 0 <= message_code <= 0x3FF and 0 <= update_number <= 0x0F):
        raise ValueError("geo_scope 0-3, message_code 0-1023, update_number 0-15")
    return geo_scope << 14 | message_code << 4 | update_number


def coding(dcs: int) -> Coding:
    """The CBS data coding scheme (TS 23.038 section 5); :class:`PduError` for one we cannot read."""
    group, low = dcs & 0xF0, dcs & 0x0F
    if group == 0x00:
        return Coding("gsm7", _DCS_LANGUAGES[0x00][low])
    if dcs == 0x10:
        return Coding("gsm7", indicated=True)
    if dcs == 0x11:
        return Coding("ucs2", indicated=True)
    if group == 0x20:
        languages = _DCS_LANGUAGES[0x20]
        return Coding("gsm7", languages[low] if low < len(languages) else None)
    if group == 0x30:
        return Coding("gsm7")
    if dcs & 0xC0 == 0x40:  # general data coding
        if dcs & 0x20:
            raise PduError(f"compressed cell broadcast (DCS {dcs:#04x}): not supported")
        return Coding(("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 0x03])
    if group == 0xF0:
        return Coding("8bit" if dcs & 0x04 else "gsm7")
    raise PduError(f"cell broadcast data coding scheme {dcs:#04x} is reserved")


def decode(hexpdu: str) -> list[Page]:
    """The pages of one ``+CBM`` PDU: one page (GSM format), or all of a message (UMTS format)."""
    try:
        data = bytes.fromhex(hexpdu.strip())
    except ValueError:
        raise PduError("cell broadcast PDU is not hex") from None
    if len(data) == PAGE_OCTETS:
        return [_gsm_page(data)]
    if len(data) >= 7 and data[0] == 1 and (len(data) - 7) % UMTS_PAGE == 0 and (len(data) - 7) // UMTS_PAGE:
        return _umts_pages(data)
    raise PduError(f"cell broadcast PDU of {len(data)} octets (a page has {PAGE_OCTETS})")


def _gsm_page(data: bytes) -> Page:
    serial = int.from_bytes(data[0:2], "big")
    message_id = int.from_bytes(data[2:4], "big")
    dcs, param = data[4], data[5]
    number, total = (param >> 4, param & 0x0F) if param else (1, 1)  # 0000 0000 is "1 of 1"
    if not 1 <= number <= total:
        raise PduError(f"cell broadcast page parameter {param:#04x}: page {number} of {total}")
    return _page(message_id, serial, dcs, number, total, data[6:])


def _umts_pages(data: bytes) -> list[Page]:
    message_id = int.from_bytes(data[1:3], "big")
    serial = int.from_bytes(data[3:5], "big")
    dcs, count = data[5], data[6]
    if not 1 <= count <= MAX_PAGES or len(data) != 7 + count * UMTS_PAGE:
        raise PduError(f"UMTS cell broadcast says {count} pages in {len(data)} octets")
    pages = []
    for i in range(count):
        block = data[7 + i * UMTS_PAGE : 7 + (i + 1) * UMTS_PAGE]
        used = min(block[-1], CONTENT_OCTETS)
        pages.append(_page(message_id, serial, dcs, i + 1, count, block[:used]))
    return pages


def _page(message_id: int, serial: int, dcs: int, number: int, total: int, content: bytes) -> Page:
    c = coding(dcs)
    language = c.language
    if c.alphabet == "gsm7":
        text = decode_gsm7(unpack_septets(content, len(content) * 8 // 7))
        if c.indicated:  # two letters of language and a CR, then the text
            language, text = text[:2], text[3:]
        text = text.rstrip("\r")
    elif c.alphabet == "ucs2":
        if c.indicated:  # two GSM-7 letters packed in two octets, then UCS-2
            language = decode_gsm7(unpack_septets(content[:2], 2))
            content = content[2:]
        content = content[: len(content) - len(content) % 2]
        text = content.decode("utf-16-be", "surrogatepass").rstrip("\r\x00")
    else:
        text = content.hex()
    if language is not None:
        language = language.strip().lower() or None
        if language is not None and not language.isalpha():
            language = None  # the letters were not letters: say nothing rather than something wrong
    return Page(message_id, serial, dcs, number, total, language, text, c.alphabet)


def join(pages: list[Page]) -> CellMessage:
    """The message of ``pages`` (every page of it, any order)."""
    ordered = sorted(pages, key=lambda p: p.number)
    first = ordered[0]
    text = "".join(p.text for p in ordered)
    if first.alphabet == "ucs2":  # a character split over two pages is whole again
        text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    return CellMessage(first.message_id, first.serial, first.dcs, first.language, text, first.total)


@dataclass
class _Pending:
    pages: dict[int, Page] = field(default_factory=dict)
    since: float = 0.0


class PageAssembler:
    """One modem's pages waiting for the rest of their message. Not thread-safe: one caller."""

    def __init__(
        self, on_dropped: Callable[[Page, int], None] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pending: dict[tuple[int, int, int, int], _Pending] = {}
        self._completed: dict[tuple[int, int, int, int], float] = {}  # when each message last completed
        self._on_dropped = on_dropped
        self._clock = clock

    def add(self, page: Page) -> CellMessage | None:
        """The whole message once ``page`` completes it, else None."""
        now = self._clock()
        self._prune(now)
        key = (page.message_id, page.serial, page.dcs, page.total)
        if now - self._completed.get(key, -SAME_COPY) < SAME_COPY and key not in self._pending:
            return None
        if page.total == 1:
            self._completed[key] = now
            return join([page])
        pending = self._pending.setdefault(key, _Pending(since=now))
        pending.pages[page.number] = page
        if len(pending.pages) < page.total:
            while len(self._pending) > MAX_PENDING:
                self._drop(next(iter(self._pending)))
            return None
        del self._pending[key]
        self._completed[key] = now
        return join(list(pending.pages.values()))

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def _prune(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if now - p.since > ASSEMBLY_WINDOW]:
            self._drop(key)
        for key in [k for k, at in self._completed.items() if now - at >= SAME_COPY]:
            del self._completed[key]

    def _drop(self, key: tuple[int, int, int, int]) -> None:
        pending = self._pending.pop(key)
        if self._on_dropped is not None:
            first = next(iter(pending.pages.values()))
            self._on_dropped(first, len(pending.pages))


# ------------------------------------------------------------ channels (AT+CSCB) and encoding (the emulator)


def parse_channels(text: str) -> list[tuple[int, int]]:
    """``"4370-4399,50"`` as ranges of message identifiers; :class:`ValueError` saying what is wrong."""
    out = []
    for item in text.split(","):
        if not _CHANNELS.match(item):
            raise ValueError(f"{item.strip()!r} is not a message identifier or a range (4370 or 4370-4399)")
        low, _, high = item.partition("-")
        first, last = int(low), int(high or low)
        if not 0 <= first <= last <= 0xFFFF:
            raise ValueError(f"{item.strip()!r}: identifiers are 0-65535, the lower one first")
        out.append((first, last))
    return out


def channels_text(ranges: list[tuple[int, int]]) -> str:
    """Ranges as ``AT+CSCB`` writes them: ``4370-4399,50``."""
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def encode(message_id: int, serial: int, text: str, language: str | None = None) -> list[str]:
    """The GSM-format pages (hex) a network broadcasts for ``text``: GSM-7 when every character
    has one, else UCS-2; ``language`` (ISO 639, two letters) in the coding scheme or before the
    text of each page, as TS 23.038 allows."""
    septets = gsm7_septets(text)
    lang = (language or "").lower()
    if septets is not None:
        named = _DCS_LANGUAGES[0x00].index(lang) if lang in _DCS_LANGUAGES[0x00] else None
        if lang and named is None:
            dcs, prefix, room = 0x10, gsm7_septets(lang[:2] + "\r") or [], 90
        else:
            dcs, prefix, room = (named if named is not None else 0x0F), [], 93
        chunks = _septet_chunks(septets, room)
        bodies = [pack_septets(_pad(prefix + c, 93, 0x0D)) for c in chunks]
    else:
        units = text.encode("utf-16-be", "surrogatepass")
        head = pack_septets(gsm7_septets(lang[:2]) or []) if lang else b""
        dcs, room = (0x11, 80) if lang else (0x48, 82)
        bodies = [head + _pad_octets(units[i : i + room], room) for i in range(0, max(len(units), 1), room)]
    if len(bodies) > MAX_PAGES:
        raise ValueError(f"a cell broadcast has at most {MAX_PAGES} pages; this text needs {len(bodies)}")
    out = []
    for n, body in enumerate(bodies, start=1):
        head6 = serial.to_bytes(2, "big") + message_id.to_bytes(2, "big") + bytes([dcs, n << 4 | len(bodies)])
        out.append((head6 + body[:CONTENT_OCTETS]).hex().upper())
    return out


def _septet_chunks(septets: list[int], room: int) -> list[list[int]]:
    chunks: list[list[int]] = []
    i = 0
    while i < len(septets) or not chunks:
        end = min(i + room, len(septets))
        if end < len(septets) and end > i and septets[end - 1] == ESC:
            end -= 1  # never split an escape from the character it escapes
        chunks.append(septets[i:end])
        i = end
    return chunks


def _pad(septets: list[int], count: int, filler: int) -> list[int]:
    return septets + [filler] * (count - len(septets))


def _pad_octets(units: bytes, room: int) -> bytes:
    return units + b"\x00\x0d" * ((room - len(units)) // 2)
