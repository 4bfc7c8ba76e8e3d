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
"""

from __future__ import annotations

import re
import unicodedata

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
TOKEN = re.compile(r"\d+|[^\W\d_]+")

# Letters that only one of the two languages uses (strong), or that its keyboards produce (weak).
_FA_STRONG = frozenset("پچژگ" + PERSIAN_DIGITS)
_FA_WEAK = frozenset("یکۀ")
_AR_STRONG = frozenset("ة" + ARABIC_DIGITS)
_AR_WEAK = frozenset("يكىإأؤئ")


def _ascii_digits(text: str) -> str:
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)


def normalise(text: str) -> str:
    """The form codes are matched on. Total: any ``str`` in, a ``str`` out; idempotent."""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(_REMOVE)
    t = _ascii_digits(t).translate(_FOLD).casefold()
    t = unicodedata.normalize("NFKC", t).translate(_REMOVE)  # casefold can produce decomposable forms
    return " ".join(t.split())


def tokens(normalised: str) -> list[str]:
    """Runs of letters and runs of digits: ``out1234`` -> ``out``, ``1234``; ``1-1234`` -> ``1``, ``1234``."""
    return TOKEN.findall(normalised)


def is_number(token: str) -> bool:
    return token.isascii() and token.isdigit()


def script_language(text: str) -> tuple[str | None, str | None]:
    """(language the script says, script): ``("fa", "arabic")``, ``(None, "arabic")`` when the
    letters are shared by Persian and Arabic, ``("en", "latin")``, ``(None, None)`` for digits only."""
    t = unicodedata.normalize("NFKC", text)
    fa = ar = 0
    arabic_script = latin = False
    for ch in t:
        if ch in _FA_STRONG:
            fa += 3
        elif ch in _AR_STRONG:
            ar += 3
        elif ch in _FA_WEAK:
            fa += 1
        elif ch in _AR_WEAK:
            ar += 1
        if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
            if ch.isalpha():
                arabic_script = True
        elif ch.isascii() and ch.isalpha():
            latin = True
    if fa or ar:
        if fa == ar:
            return None, "arabic"
        return ("fa" if fa > ar else "ar"), "arabic"
    if arabic_script:
        return None, "arabic"
    if latin:
        return "en", "latin"
    return None, None


def localise_digits(text: str, language: str) -> str:
    """ASCII digits in ``text`` written the way the language does."""
    if language == "fa":
        return text.translate(str.maketrans("0123456789", PERSIAN_DIGITS))
    if language == "ar":
        return text.translate(str.maketrans("0123456789", ARABIC_DIGITS))
    return text
