"""The router on realistic messages, and on anything at all."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.conversation.keywords import load_catalogue
from gateway.conversation.replies import compose
from gateway.conversation.router import route

CATALOGUE = load_catalogue()

# (message, action, category, account, language) -- a first table; issue 4 grows it to 150+
CASES = [
    ("1 48213", "ticket", "outage", "48213", "fa"),
    ("1", "ticket", "outage", None, "fa"),
    ("OUT 48213", "ticket", "outage", "48213", "en"),
    ("out48213", "ticket", "outage", "48213", "en"),
    ("Outage: 48213", "ticket", "outage", "48213", "en"),
    ("OUT-99120", "ticket", "outage", "99120", "en"),
    ("1-1234", "ticket", "outage", "1234", "fa"),
    ("no power 5512", "ticket", "outage", "5512", "en"),
    ("قطع ۴۸۲۱۳", "ticket", "outage", "48213", "fa"),
    ("قطع48213", "ticket", "outage", "48213", "fa"),
    ("ﻗﻄﻊ ۴۸۲۱۳", "ticket", "outage", "48213", "fa"),
    ("قطعی برق ۵۵۱۲۰ از دیشب", "ticket", "outage", "55120", "fa"),
    ("۱ ۴۸۲۱۳", "ticket", "outage", "48213", "fa"),
    ("انقطاع ٤٨٢١٣", "ticket", "outage", "48213", "ar"),
    ("١ ٤٨٢١٣", "ticket", "outage", "48213", "ar"),
    ("2 77031", "ticket", "billing", "77031", "fa"),
    ("BILL 77031", "ticket", "billing", "77031", "en"),
    ("قبض ۷۷۰۳۱", "ticket", "billing", "77031", "fa"),
    ("ﻗﺒﺾ 77031", "ticket", "billing", "77031", "fa"),
    ("فاتورة ١٢٣٤", "ticket", "billing", "1234", "ar"),
    ("3", "ticket", "callback", None, "fa"),
    ("call me", "ticket", "callback", None, "en"),
    ("تماس", "ticket", "callback", None, "fa"),
    ("اتصال", "ticket", "callback", None, "ar"),
    ("salam OUT 55501", "ticket", "outage", "55501", "en"),
    ("?", "help", None, None, "fa"),
    ("؟", "help", None, None, "fa"),
    ("HELP", "help", None, None, "en"),
    ("راهنما", "help", None, None, "fa"),
    ("مساعدة", "help", None, None, "ar"),
    ("hello", "help", None, None, "en"),
    ("سلام، کسی هست؟", "help", None, None, "fa"),
    ("48213", "help", None, None, "fa"),  # a bare number is not a code
    ("", "help", None, None, "fa"),
    ("😀🔌", "help", None, None, "fa"),
    ("{ref} %s {0.__class__}", "help", None, None, "en"),
]


@pytest.mark.parametrize(("text", "action", "category", "account", "language"), CASES)
def test_realistic_messages(text: str, action: str, category: str | None, account: str | None, language: str) -> None:
    d = route(text, catalogue=CATALOGUE, default_language="fa")
    assert (d.action, d.category, d.account, d.language) == (action, category, account, language)


def test_country_of_the_number_decides_when_the_text_does_not() -> None:
    assert route("1 48213", catalogue=CATALOGUE, number_language="en").language == "en"
    assert route("1 48213", catalogue=CATALOGUE, number_language="ar").language == "ar"
    # but the script of the message wins over the number
    assert route("قطع ۴۸۲۱۳", catalogue=CATALOGUE, number_language="en").language == "fa"


@pytest.mark.parametrize("kind", ["alphanumeric", "short_code", "own_sim", "unknown"])
def test_machines_are_never_answered(kind: str) -> None:
    d = route("1 48213", catalogue=CATALOGUE, sender_kind=kind)  # type: ignore[arg-type]
    assert d.action == "ignore" and d.reply is None


def test_reply_carries_the_ref_in_the_customers_digits() -> None:
    fa = route("قطع ۴۸۲۱۳", catalogue=CATALOGUE)
    assert "۱۲-۰۰۰۳۴۵" in (compose(CATALOGUE, fa, ref="12-000345") or "")
    ar = route("انقطاع ٤٨٢١٣", catalogue=CATALOGUE)
    assert "١٢-٠٠٠٣٤٥" in (compose(CATALOGUE, ar, ref="12-000345") or "")
    en = route("OUT 1", catalogue=CATALOGUE)
    assert "12-000345" in (compose(CATALOGUE, en, ref="12-000345") or "")


def test_help_lists_the_codes_in_the_customers_language() -> None:
    text = compose(CATALOGUE, route("?", catalogue=CATALOGUE, default_language="fa")) or ""
    assert "۱ قطعی" in text and "۲ قبض" in text and "۳ تماس" in text and "۴ پیگیری" in text
    assert "STOP" not in text and "لغو" not in text


@given(st.text(), st.sampled_from(["fa", "ar", "en"]))
@settings(max_examples=1000)
def test_router_never_raises_and_always_decides(text: str, default: str) -> None:
    d = route(text, catalogue=CATALOGUE, default_language=default)
    assert d.action in ("ticket", "status", "stop", "start", "help")
    assert d.language in ("fa", "ar", "en")
    reply = compose(CATALOGUE, d, ref="12-000345")
    assert reply  # never silence towards a person
    assert route(text, catalogue=CATALOGUE, default_language=default) == d  # deterministic
