"""Normalisation: every way a customer's phone can spell the same code matches it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.conversation.text import localise_digits, normalise, script_language, tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("قطع ۴۸۲۱۳", "قطع 48213"),  # Persian digits
        ("انقطاع ٤٨٢١٣", "انقطاع 48213"),  # Arabic-Indic digits
        ("１ ４８２１３", "1 48213"),  # full-width
        ("ﻗﻄﻊ", "قطع"),  # presentation forms U+FE70-U+FEFF
        ("كمك", "کمک"),  # Arabic kaf -> Persian keheh
        ("راهنماي", "راهنمای"),  # Arabic yeh -> Persian yeh
        ("قـــطـــع", "قطع"),  # tatweel
        ("مساعَدة", "مساعده"),  # harakat removed, teh marbuta folded
        ("می\u200cخواهم", "میخواهم"),  # ZWNJ
        ("\u202bقطع\u202c 1", "قطع 1"),  # bidi embedding controls
        ("  OUT\t1234  ", "out 1234"),
        ("\ufeff1 48213", "1 48213"),  # BOM from some feature phones
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("out1234", ["out", "1234"]), ("1-1234", ["1", "1234"]), ("قطع48213", ["قطع", "48213"]), ("?!", [])],
)
def test_tokens_split_glued_codes(raw: str, expected: list[str]) -> None:
    assert tokens(normalise(raw)) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("قطع ۴۸۲۱۳", "fa"),  # Persian digits
        ("گزارش قطعی", "fa"),  # گ exists only in Persian
        ("انقطاع ٤٨٢١٣", "ar"),  # Arabic-Indic digits
        ("فاتورة", "ar"),  # teh marbuta
        ("قطع", None),  # letters both languages use
        ("OUT 1234", "en"),
        ("1 48213", None),
    ],
)
def test_script_language(text: str, language: str | None) -> None:
    assert script_language(text)[0] == language


def test_localise_digits() -> None:
    assert localise_digits("12-000345", "fa") == "۱۲-۰۰۰۳۴۵"
    assert localise_digits("12-000345", "ar") == "١٢-٠٠٠٣٤٥"
    assert localise_digits("12-000345", "en") == "12-000345"


@given(st.text())
@settings(max_examples=1000)
def test_normalise_is_total_and_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    tokens(once)
    script_language(text)
