"""USSD answers and balances as operators send them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim_bank.ussd import parse_balance, parse_cusd


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("Your balance is 12,345 Rials.", "12345", "IRR"),
        ("مانده حساب شما ۱۲٬۳۴۵ ریال است", "12345", "IRR"),
        ("اعتبار: 1,234,567 ریال. بسته شما تا 1403/09/10 فعال است", "1234567", "IRR"),
        ("موجودی شارژ شما 5000 تومان می باشد", "5000", "IRT"),
        ("Credit: 45210 IRR valid until 2026-12-01", "45210", "IRR"),
        ("رصيدك ١٢٫٥ دينار", "12.5", "IQD"),
        ("Main balance 1.234.567 Rials; bonus 500 Rials", "1234567", "IRR"),
    ],
)
def test_balances(text: str, amount: str, currency: str) -> None:
    balance = parse_balance(text)
    assert balance is not None and balance.amount == Decimal(amount) and balance.currency == currency


def test_no_balance() -> None:
    assert parse_balance("Service unavailable, try later") is None


def test_cusd_forms() -> None:
    ucs2 = "مانده ۱۲۳۴ ریال".encode("utf-16-be").hex().upper()
    assert parse_cusd(f'+CUSD: 0,"{ucs2}",72').text == "مانده ۱۲۳۴ ریال"  # type: ignore[union-attr]
    menu = parse_cusd('+CUSD: 1,"1. Balance\n2. Packages",15')
    assert menu is not None and menu.session_open and menu.text == "1. Balance\n2. Packages"
    gone = parse_cusd("+CUSD: 4")  # the library crashes on this one (notes #8)
    assert gone is not None and not gone.ok and gone.text is None
    assert parse_cusd("+CSQ: 20,99") is None


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    parse_balance(text)
    parse_cusd(text)
    parse_cusd(f'+CUSD: 0,"{text}",72')
