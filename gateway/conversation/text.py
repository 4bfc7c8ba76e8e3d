"""Text normalisation and script detection for customer SMS (pure).

Customers type on feature phones with Persian, Arabic or Latin keyboards,
sometimes mixing them. Matching works on a normalised form:

* Unicode NFKC: Arabic presentation forms (U+FB50-U+FEFF) become plain
  letters, full-width digits and letters become ASCII;
* every decimal digit (Persian ۰-۹, Arabic-Indic ٠-٩, ...) becomes ASCII;
* Arabic ي ك ى become Persian ی ک ی, hamza forms of alef become ا, ة becomes ه,
  ؤ becomes و, ۀ becomes ه -- so one catalogue word matches every spelling;
* ZWNJ, ZWJ, tatweel, diacritics (harakat), bidi controls and BOMs are removed;
* case is folded.

The original text is always kept as well: normalisation is for matching only.

Text from elsewhere that goes to a customer (a CRM's message) is cleaned first:
:func:`strip_controls` removes what a phone would show as garbage or use to
reorder what the customer reads.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.config.reader import ascii_digits

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

_REMOVE = dict.fromkeys(
    [
        0x200B,  # zero width space
        0x200C,  # ZWNJ
        0x200D,  # ZWJ
        0x0640,  # tatweel
        0x00AD,  # soft hyphen
        0xFEFF,  # BOM / zero width no-break space
        0x200E,  # LRM
        0x200F,  # RLM
        0x061C,  # Arabic letter mark
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2066, 0x206A),  # bidi isolates
        *range(0x064B, 0x0660),  # harakat, shadda, sukun, ...
        0x0670,  # superscript alef
        *range(0x06D6, 0x06EE),  # Quranic annotation marks
    ]
)
_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
    }
)
# C0 and C1 controls (newline aside), DEL, bidi embeddings/overrides (U+202A-202E) and
# isolates (U+2066-2069): invisible, and able to make a phone show text in another order.
_CONTROLS: dict[int, str | None] = {
    **dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]),
    ord("\n"): "\n",  # kept
    ord("\t"): " ",  # removing it would join two words
}
TOKEN = re.compile(r"\d+|[^\W\d_]+")

# Letters that only one of the two languages uses (strong), or that its keyboards produce (weak).
_FA_LETTERS = frozenset("پچژگ")
_FA_WEAK = frozenset("یکۀ")
_AR_LETTERS = frozenset("ة")
_AR_WEAK = frozenset("يكىإأؤ")


def normalise(text: str) -> str:
    """The form codes are matched on. Total: any ``str`` in, a ``str`` out; idempotent."""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(_REMOVE)
    t = ascii_digits(t).translate(_FOLD).casefold()
    t = unicodedata.normalize("NFKC", t).translate(_REMOVE)  # casefold can produce decomposable forms
    return " ".join(t.split())


def strip_controls(text: str) -> str:
    """``text`` without control characters and bidi overrides: newlines stay (CR LF and a
    lone CR become LF), a tab becomes a space, every other C0/C1 control, DEL, U+202A-202E
    and U+2066-2069 is removed. Letters, ZWNJ and the LRM/RLM marks are kept."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)


def tokens(normalised: str) -> list[str]:
    """Runs of letters and runs of digits: ``out1234`` -> ``out``, ``1234``; ``1-1234`` -> ``1``, ``1234``."""
    return TOKEN.findall(normalised)


def is_number(token: str) -> bool:
    return token.isascii() and token.isdigit()


@dataclass(frozen=True)
class Script:
    """What the characters of a message say about its language.

    ``strong``: letters only one of Persian and Arabic has (پ چ ژ گ / ة) and each
    digit script (counted once, however many digits); ``weak``: what the two
    languages' keyboards produce (ی ک / ي ك ى أ إ ؤ), which a Persian speaker on an
    Arabic keyboard also types. ``script``: "arabic", "latin" or None (digits only).
    """

    strong: str | None
    weak: str | None
    script: str | None


def script_of(text: str) -> Script:
    t = unicodedata.normalize("NFKC", text)
    strong = {"fa": 0, "ar": 0}
    weak = {"fa": 0, "ar": 0}
    arabic_script = latin = False
    for ch in t:
        if ch in _FA_LETTERS:
            strong["fa"] += 1
        elif ch in _AR_LETTERS:
            strong["ar"] += 1
        elif ch in _FA_WEAK:
            weak["fa"] += 1
        elif ch in _AR_WEAK:
            weak["ar"] += 1
        if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
            arabic_script = arabic_script or ch.isalpha()
        elif ch.isascii() and ch.isalpha():
            latin = True
    if any(ch in PERSIAN_DIGITS for ch in t):
        strong["fa"] += 1
    if any(ch in ARABIC_DIGITS for ch in t):
        strong["ar"] += 1
    script = "arabic" if arabic_script or any(strong.values()) or any(weak.values()) else "latin" if latin else None
    return Script(_winner(strong), _winner(weak), script)


def _winner(scores: dict[str, int]) -> str | None:
    if scores["fa"] == scores["ar"]:
        return None
    return "fa" if scores["fa"] > scores["ar"] else "ar"


def script_language(text: str) -> tuple[str | None, str | None]:
    """(language the characters say, script): ``("fa", "arabic")``, ``(None, "arabic")`` when
    the letters are shared by Persian and Arabic, ``("en", "latin")``, ``(None, None)`` for
    digits only. Strong evidence first, then weak."""
    s = script_of(text)
    if s.script == "latin":
        return "en", "latin"
    return (s.strong or s.weak), s.script


def localise_digits(text: str, language: str) -> str:
    """ASCII digits in ``text`` written the way the language does."""
    if language == "fa":
        return text.translate(str.maketrans("0123456789", PERSIAN_DIGITS))
    if language == "ar":
        return text.translate(str.maketrans("0123456789", ARABIC_DIGITS))
    return text
