"""USSD answers and prepaid balances (pure).

A modem answers ``AT+CUSD=1,"*140#",15`` with ``OK`` and later a result code
``+CUSD: <m>[,"<text>"[,<dcs>]]``: ``m`` 0 = done, 1 = the network waits for a
reply (a menu), 2 = ended by the network, 4 = not supported, 5 = timed out.
With DCS 72 (UCS-2) the text comes as hex (python-gsmmodem returns it raw; its
parser also crashes on ``+CUSD: 4`` with no text -- notes #8).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_CUSD = re.compile(r'^\+CUSD:\s*(\d)\s*(?:,\s*"(.*?)"\s*(?:,\s*(\d+))?)?\s*$', re.S)
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{4})+$")

STATUS = {
    0: "done",
    1: "waiting for a reply",
    2: "ended by the network",
    3: "answered by another client",
    4: "not supported",
    5: "timed out",
}


@dataclass(frozen=True)
class UssdReply:
    status: int
    text: str | None
    dcs: int | None

    @property
    def session_open(self) -> bool:
        return self.status == 1

    @property
    def ok(self) -> bool:
        return self.status in (0, 1)

    @property
    def meaning(self) -> str:
        return STATUS.get(self.status, f"status {self.status}")


def _is_ucs2(dcs: int | None) -> bool:
    """UCS-2 in the cell-broadcast coding that USSD uses (23.038 clause 5)."""
    if dcs is None:
        return False
    if dcs == 0x11:  # UCS-2, preceded by a language indication
        return True
    return (dcs >> 4) in (0x4, 0x5, 0x6, 0x7) and (dcs & 0x0C) == 0x08  # general data coding: UCS-2


def parse_cusd(text: str) -> UssdReply | None:
    """One ``+CUSD`` result code (its text may run over several lines)."""
    m = _CUSD.match(text.strip())
    if not m:
        return None
    status = int(m.group(1))
    body = m.group(2)
    dcs = int(m.group(3)) if m.group(3) else None
    if body is not None and _is_ucs2(dcs) and _HEX.match(body):
        body = bytes.fromhex(body).decode("utf-16-be", errors="replace")
    return UssdReply(status, body, dcs)


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str | None


# currency words and their normal names; toman is ten rials
_CURRENCIES = {
    "ریال": "IRR",
    "ريال": "IRR",
    "rial": "IRR",
    "rials": "IRR",
    "irr": "IRR",
    "تومان": "IRT",
    "toman": "IRT",
    "tomans": "IRT",
    "دينار": "IQD",
    "دینار": "IQD",
    "iqd": "IQD",
    "dinar": "IQD",
    "dinars": "IQD",
}
_BALANCE_WORDS = (
    "balance",
    "credit",
    "مانده",
    "موجودی",
    "اعتبار",
    "شارژ",
    "رصيد",
    "رصید",
)
_NUMBER = re.compile(r"(?<![\w\d])(-|\u2212|منفی\s*)?(\d[\d,.\u066b\u066c\u060c' ]*\d|\d)")


def _ascii(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _to_decimal(raw: str) -> Decimal | None:
    """``12,345`` / ``12٬345`` / ``12.345,50`` / ``12 345.5`` -> Decimal."""
    s = raw.replace("\u066c", ",").replace("\u060c", ",").replace("\u066b", ".").replace("'", "").replace(" ", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):  # 12.345,50
            s = s.replace(".", "").replace(",", ".")
        else:  # 12,345.50
            s = s.replace(",", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = s.replace(",", "") if len(tail) == 3 else head.replace(",", "") + "." + tail
    elif s.count(".") > 1 or (s.count(".") == 1 and len(s.rpartition(".")[2]) == 3 and len(s) > 4):
        s = s.replace(".", "")  # 1.234.567 or 12.345 (thousands)
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def parse_balance(text: str) -> Balance | None:
    """The balance in an operator's answer ("Your balance is 12,345 Rials",
    "مانده حساب شما ۱۲٬۳۴۵ ریال"), or None when there is none.

    The number nearest after a balance word wins; a number followed by a
    currency word is taken over one that is not.
    """
    t = _ascii(unicodedata.normalize("NFKC", text))
    lower = t.casefold()
    start = min((i for i in (lower.find(w) for w in _BALANCE_WORDS) if i >= 0), default=0)
    candidates = []
    for m in _NUMBER.finditer(t, start):
        amount = _to_decimal(m.group(2))
        if amount is None:
            continue
        if m.group(1):  # "-5,000 Rials", "منفی ۵۰۰۰ ریال": a SIM in debt
            amount = -amount
        after = lower[m.end() : m.end() + 12].strip()
        currency = next((code for word, code in _CURRENCIES.items() if after.startswith(word)), None)
        candidates.append((currency is None, m.start(), Balance(amount, currency)))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]
