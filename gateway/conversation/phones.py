"""Phone numbers: +E.164 normalisation and who is texting us (pure).

Numbers are normalised with ``phonenumbers`` before they are stored or sent
(python-gsmmodem encodes a number with spaces or dashes as an *alphanumeric*
address, which the network rejects). Senders that are not people -- an
operator's alphanumeric name, a short code, one of our own SIMs -- never get
an automatic reply: that is what stops reply loops with other machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers

SenderKind = Literal["person", "alphanumeric", "short_code", "own_sim", "unknown"]


class InvalidNumber(ValueError):
    """Not a phone number we can send to."""


@dataclass(frozen=True)
class Sender:
    raw: str
    kind: SenderKind
    phone: str | None  # +E.164 when it is a phone number

    @property
    def replyable(self) -> bool:
        return self.kind == "person" and self.phone is not None


def to_e164(number: str, region: str, *, mobile: bool = False) -> str:
    """``0912 123 4567`` (region IR) -> ``+989121234567``; raises :class:`InvalidNumber`.

    ``mobile``: the number is to receive SMS (contacts, broadcasts, ``gateway send``), so
    it must look like a mobile number: not a landline, and of a mobile number's length. A
    number phonenumbers does not know yet (operators open new prefixes faster than its
    data is updated) passes when it has a mobile number's length and first digit."""
    text = number.strip()
    if not text:
        raise InvalidNumber("empty number")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{number!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"{number!r} is not a possible phone number in {region.upper()}")
    if mobile:
        _check_mobile(number, parsed)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _check_mobile(number: str, parsed: phonenumbers.PhoneNumber) -> None:
    kind = phonenumbers.number_type(parsed)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise InvalidNumber(f"{number!r} is a landline number: it cannot receive SMS")
    if phonenumbers.is_valid_number(parsed):
        return
    region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(parsed.national_number)
    if example is not None:
        sample = str(example.national_number)
        if len(national) == len(sample) and national[0] == sample[0]:
            return  # a prefix newer than phonenumbers' data
    raise InvalidNumber(f"{number!r} does not have the length or start of a mobile number in {region}")


# Where a number's country tells the language better than the site default does.
_PERSIAN_REGIONS = frozenset({"IR", "AF"})
_ARABIC_REGIONS = frozenset(
    {"IQ", "SA", "AE", "KW", "QA", "BH", "OM", "YE", "JO", "SY", "LB", "PS", "EG", "LY", "TN", "DZ", "MA", "SD", "MR"}
)


def language_prefixes() -> tuple[tuple[str, str], ...]:
    """(number prefix, language) pairs saying what :func:`number_language` says, for rules
    that run over many numbers at once (a broadcast's audience, in SQL): the first prefix a
    +E.164 number starts with gives its language; ``+`` (any other country) is last."""
    out: list[tuple[str, str]] = []
    for regions, language in ((_PERSIAN_REGIONS, "fa"), (_ARABIC_REGIONS, "ar")):
        codes = sorted({phonenumbers.country_code_for_region(r) for r in regions} - {0})
        out += [(f"+{code}", language) for code in codes]
    return (*out, ("+", "en"))


def number_language(phone: str | None) -> str | None:
    """fa for Iranian and Afghan numbers, ar for Arab countries, en for any other country."""
    if not phone:
        return None
    try:
        region = phonenumbers.region_code_for_country_code(phonenumbers.parse(phone, None).country_code or 0)
    except phonenumbers.NumberParseException:
        return None
    if not region or region == "ZZ":
        return None
    if region in _PERSIAN_REGIONS:
        return "fa"
    if region in _ARABIC_REGIONS:
        return "ar"
    return "en"


def classify(
    raw: str,
    *,
    alphanumeric: bool,
    region: str,
    own_numbers: frozenset[str] = frozenset(),
    short_code_max_digits: int = 6,
) -> Sender:
    """What kind of sender ``raw`` (as the SMS carried it) is."""
    if alphanumeric or not raw:
        return Sender(raw, "alphanumeric", None)
    digits = raw.lstrip("+")
    if not digits.isascii() or not digits.isdigit():
        return Sender(raw, "unknown", None)
    if not raw.startswith("+") and len(digits) <= short_code_max_digits:
        return Sender(raw, "short_code", None)
    try:
        phone = to_e164(raw, region)
    except InvalidNumber:
        return Sender(raw, "unknown", None)
    if phone in own_numbers:
        return Sender(raw, "own_sim", phone)
    return Sender(raw, "person", phone)
