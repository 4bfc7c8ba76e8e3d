"""What customers actually type, and what the router must make of it.

Each row: the message, then the action, category, account and reply language the
router decides for a first-time sender (site default language: Persian, number of
unknown country). Conversational context (menus, repeats) is tested elsewhere.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.conversation.keywords import load_catalogue
from gateway.conversation.router import route
from gateway.conversation.text import normalise

CAT = load_catalogue()
T, H, S = "ticket", "help", "status"
OUT, B, C = "outage", "billing", "callback"

ROWS: list[tuple[str, str, str | None, str | None, str]] = [
    # --- English and digits: outage
    ("1 48213", T, OUT, "48213", "fa"),
    ("1", T, OUT, None, "fa"),
    ("1  48213", T, OUT, "48213", "fa"),
    (" 1 48213 ", T, OUT, "48213", "fa"),
    ("1\n48213", T, OUT, "48213", "fa"),
    ("1.48213", T, OUT, "48213", "fa"),
    ("1,48213", T, OUT, "48213", "fa"),
    ("1-48213", T, OUT, "48213", "fa"),
    ("1_48213", T, OUT, "48213", "fa"),
    ("1/48213", T, OUT, "48213", "fa"),
    ("1:48213", T, OUT, "48213", "fa"),
    ("#1 48213", T, OUT, "48213", "fa"),
    ("1 48213!!!", T, OUT, "48213", "fa"),
    ("1 48213 48214", T, OUT, "48213", "fa"),
    ("OUT 48213", T, OUT, "48213", "en"),
    ("out 48213", T, OUT, "48213", "en"),
    ("Out48213", T, OUT, "48213", "en"),
    ("OUT-48213", T, OUT, "48213", "en"),
    ("OUT: 48213", T, OUT, "48213", "en"),
    ("OUT #48213", T, OUT, "48213", "en"),
    ("OUTAGE 48213", T, OUT, "48213", "en"),
    ("outage at account 48213", T, OUT, "48213", "en"),
    ("no power 48213", T, OUT, "48213", "en"),
    ("NO POWER at 48213", T, OUT, "48213", "en"),
    ("blackout 48213", T, OUT, "48213", "en"),
    ("Hi, OUT 48213", T, OUT, "48213", "en"),
    ("OUTGE 48213", T, OUT, "48213", "en"),  # a letter missing
    ("OUTAEG 48213", T, OUT, "48213", "en"),  # two letters swapped
    ("OUTAGES 48213", T, OUT, "48213", "en"),  # one too many
    ("１ ４８２１３", T, OUT, "48213", "fa"),  # full-width
    ("1 ٤٨٢١٣", T, OUT, "48213", "ar"),  # Arabic-Indic digits
    ("1 ۴۸۲۱۳", T, OUT, "48213", "fa"),  # Persian digits
    ("1 48213 😡😡", T, OUT, "48213", "fa"),
    ("   \n1\t48213\n", T, OUT, "48213", "fa"),
    ("1 48213\u202c", T, OUT, "48213", "fa"),  # a stray bidi control
    ("OUT قطع 48213", T, OUT, "48213", "fa"),
    # --- English: billing
    ("2 77031", T, B, "77031", "fa"),
    ("2", T, B, None, "fa"),
    ("2-77031", T, B, "77031", "fa"),
    ("BILL 77031", T, B, "77031", "en"),
    ("bill77031", T, B, "77031", "en"),
    ("Billing 77031", T, B, "77031", "en"),
    ("invoice 77031", T, B, "77031", "en"),
    ("BILLNG 77031", T, B, "77031", "en"),  # typo
    ("my bill is wrong 77031", T, B, "77031", "en"),
    ("77031 BILL", T, B, "77031", "en"),  # account first
    # --- English: call back
    ("3", T, C, None, "fa"),
    ("CALL", T, C, None, "en"),
    ("call me", T, C, None, "en"),
    ("Call me please", T, C, None, "en"),
    ("callback", T, C, None, "en"),
    ("3 call me at 09121234567", T, C, None, "en"),
    ("please call", T, C, None, "en"),
    # --- English: status
    ("4 12-000345", S, None, None, "fa"),
    ("STATUS 12-000345", S, None, None, "en"),
    ("status12-000345", S, None, None, "en"),
    ("track 12000345", S, None, None, "en"),
    ("4", S, None, None, "fa"),
    ("STATSU 12-000345", S, None, None, "en"),  # typo
    ("Status of 12-000345?", S, None, None, "en"),
    # --- English: stop and start
    ("STOP", "stop", None, None, "en"),
    ("stop", "stop", None, None, "en"),
    ("Stop.", "stop", None, None, "en"),
    ("UNSUBSCRIBE", "stop", None, None, "en"),
    ("START", "start", None, None, "en"),
    ("start", "start", None, None, "en"),
    ("subscribe", "start", None, None, "en"),
    # --- English and others: help, unknown, odd
    ("HELP", H, None, None, "en"),
    ("help me", H, None, None, "en"),
    ("?", H, None, None, "fa"),
    ("menu", H, None, None, "en"),
    ("0", H, None, None, "fa"),
    ("hello", H, None, None, "en"),
    ("", H, None, None, "fa"),
    ("48213", H, None, None, "fa"),  # a bare number is not a code
    ("12 48213", H, None, None, "fa"),
    ("😀", H, None, None, "fa"),
    ("???", H, None, None, "fa"),
    ("Test", H, None, None, "en"),
    ("{ref} %s {0.__class__}", H, None, None, "en"),
    ("is anyone there", H, None, None, "en"),
    # --- Persian: outage
    ("قطع ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("قطع 48213", T, OUT, "48213", "fa"),
    ("قطع۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("قطعی ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("قطعی برق ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("برق قطعه ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("ﻗﻄﻊ ۴۸۲۱۳", T, OUT, "48213", "fa"),  # presentation forms
    ("قــطــع ۴۸۲۱۳", T, OUT, "48213", "fa"),  # tatweel
    ("قَطْع ۴۸۲۱۳", T, OUT, "48213", "fa"),  # diacritics
    ("۱ ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("۱-۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("۱", T, OUT, None, "fa"),
    ("خاموشی ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("سلام قطع ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("قطع ۴۸۲۱۳ لطفا رسیدگی کنید", T, OUT, "48213", "fa"),
    ("۴۸۲۱۳ قطع", T, OUT, "48213", "fa"),
    ("قطع ۴8۲13", T, OUT, "48213", "fa"),  # digits of two scripts
    ("قطع\u200c۴۸۲۱۳", T, OUT, "48213", "fa"),  # ZWNJ
    ("\u200fقطع ۴۸۲۱۳\u200f", T, OUT, "48213", "fa"),  # RLM marks
    ("قطع شماره اشتراک ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("قطع (۴۸۲۱۳)", T, OUT, "48213", "fa"),
    ("😡 قطع ۴۸۲۱۳ 😡", T, OUT, "48213", "fa"),
    ("قطع OUT 48213", T, OUT, "48213", "fa"),
    # --- Persian: billing
    ("قبض ۷۷۰۳۱", T, B, "77031", "fa"),
    ("قبض۷۷۰۳۱", T, B, "77031", "fa"),
    ("۲ ۷۷۰۳۱", T, B, "77031", "fa"),
    ("ﻗﺒﺾ ۷۷۰۳۱", T, B, "77031", "fa"),
    ("صورتحساب ۷۷۰۳۱", T, B, "77031", "fa"),
    ("صورت\u200cحساب ۷۷۰۳۱", T, B, "77031", "fa"),
    ("قبض برق ۷۷۰۳۱", T, B, "77031", "fa"),
    ("مشکل قبض ۷۷۰۳۱", T, B, "77031", "fa"),
    # --- Persian: call back
    ("تماس", T, C, None, "fa"),
    ("۳", T, C, None, "fa"),
    ("لطفا تماس بگیرید", T, C, None, "fa"),
    ("تماس با من", T, C, None, "fa"),
    # --- Persian: status
    ("پیگیری ۱۲-۰۰۰۳۴۵", S, None, None, "fa"),
    ("پیگیری ۱۲۰۰۰۳۴۵", S, None, None, "fa"),
    ("پيگيري ١٢-٠٠٠٣٤٥", S, None, None, "fa"),  # Arabic yeh and digits, Persian پ and گ
    ("وضعیت ۱۲-۰۰۰۳۴۵", S, None, None, "fa"),
    ("۴ ۱۲-۰۰۰۳۴۵", S, None, None, "fa"),
    ("پیگیری", S, None, None, "fa"),
    # --- Persian: stop, start, help
    ("لغو", "stop", None, None, "fa"),
    ("لغو.", "stop", None, None, "fa"),
    ("شروع", "start", None, None, "fa"),
    ("راهنما", H, None, None, "fa"),
    ("کمک", H, None, None, "fa"),
    ("كمك", H, None, None, "fa"),  # Arabic kaf from an Arabic keyboard: still Persian
    ("منو", H, None, None, "fa"),
    ("سلام", H, None, None, "fa"),
    ("؟", H, None, None, "fa"),
    ("سلام، کسی هست؟", H, None, None, "fa"),
    # --- Arabic: outage
    ("انقطاع ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("انقطاع 48213", T, OUT, "48213", "ar"),
    ("انقطاع٤٨٢١٣", T, OUT, "48213", "ar"),
    ("١ ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("عطل ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("يوجد انقطاع ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("ﺍﻧﻘﻄﺎﻉ ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("انقطاع الكهرباء ٤٨٢١٣", T, OUT, "48213", "ar"),
    ("٤٨٢١٣ انقطاع", T, OUT, "48213", "ar"),
    # --- Arabic: billing
    ("فاتورة ٧٧٠٣١", T, B, "77031", "ar"),
    ("فاتوره ٧٧٠٣١", T, B, "77031", "ar"),
    ("الفاتورة ٧٧٠٣١", T, B, "77031", "ar"),
    ("٢ ٧٧٠٣١", T, B, "77031", "ar"),
    ("فاتورة٧٧٠٣١", T, B, "77031", "ar"),
    # --- Arabic: call back
    ("اتصال", T, C, None, "ar"),
    ("٣", T, C, None, "ar"),
    ("الاتصال", T, C, None, "ar"),
    ("أريد اتصال", T, C, None, "ar"),
    # --- Arabic: status
    ("متابعة ١٢-٠٠٠٣٤٥", S, None, None, "ar"),
    ("متابعه ١٢٠٠٠٣٤٥", S, None, None, "ar"),
    ("حالة ١٢-٠٠٠٣٤٥", S, None, None, "ar"),
    ("٤ ١٢-٠٠٠٣٤٥", S, None, None, "ar"),
    ("متابعة", S, None, None, "ar"),
    # --- Arabic: stop, start, help
    ("إلغاء", "stop", None, None, "ar"),
    ("الغاء", "stop", None, None, "ar"),
    ("ابدأ", "start", None, None, "ar"),
    ("ابدا", "start", None, None, "ar"),
    ("مساعدة", H, None, None, "ar"),
    ("مساعده", H, None, None, "ar"),
    ("قائمة", H, None, None, "ar"),
    ("السلام عليكم", H, None, None, "ar"),
    ("مرحبا", H, None, None, "fa"),  # letters both languages use, no keyword: the site's language
    # --- words that look like codes and are not (found in review)
    ("الغاز مقطوع", H, None, None, "fa"),  # "the gas is cut": one letter from الغاء (STOP), never fuzzy
    ("SMART meter 48213", H, None, None, "en"),  # one letter from START
    ("STARS", H, None, None, "en"),
    ("برق ما ابدا وصل نشده", H, None, None, "fa"),  # Persian "never", Arabic "start": not on its own
    ("الكهرباء مقطوعة في حالة طوارئ", H, None, None, "ar"),  # "in case of emergency": no ref follows
    ("Please STOP", "stop", None, None, "en"),  # STOP and START with politeness words only (issue 12, 18)
    ("لطفا لغو", "stop", None, None, "fa"),
    ("التماس دارم", H, None, None, "fa"),  # Persian "plea", not Arabic ال + تماس
    # --- the account is a number long enough to be one
    ("no power for 2 days 48213", T, OUT, "48213", "en"),
    ("قطع از ۳ ساعت پیش ۴۸۲۱۳", T, OUT, "48213", "fa"),
    ("از ساعت ۸ برق قطع", T, OUT, None, "fa"),
    ("OUT 12", T, OUT, None, "en"),
]


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 150
    assert len({r[0] for r in ROWS}) == len(ROWS), "no message twice"


@pytest.mark.parametrize(("text", "action", "category", "account", "language"), ROWS)
def test_message(text: str, action: str, category: str | None, account: str | None, language: str) -> None:
    d = route(text, catalogue=CAT, default_language="fa")
    assert (d.action, d.category, d.account, d.language) == (action, category, account, language)


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("4 12-000345", ("12-000345",)),
        ("پیگیری ۱۲-۰۰۰۳۴۵", ("12-000345",)),
        ("متابعة ١٢-٠٠٠٣٤٥", ("12-000345",)),
        ("status12-000345", ("12-000345",)),
        ("STATUS 12000345", ("1-2000345", "12-000345")),  # without the dash: either split
        ("۴ ۱۲ - ۰۰۰۳۴۵", ("12-000345",)),
        ("4", ()),
    ],
)
def test_status_refs_in_any_digit_script(text: str, refs: tuple[str, ...]) -> None:
    assert route(text, catalogue=CAT).refs == refs


_SPELLINGS = st.sampled_from([r[0] for r in ROWS])
_NOISE = st.sampled_from(["\u200c", "\u200f", "\u0640", "\u064e", " ", "\ufeff", "\u202b"])


@given(_SPELLINGS, st.lists(st.tuples(st.integers(min_value=0, max_value=60), _NOISE), max_size=4))
@settings(max_examples=400)
def test_what_a_message_asks_for_survives_invisible_characters(text: str, noise: list[tuple[int, str]]) -> None:
    """Keyboards and phones add ZWNJ, RLM, tatweel, harakat: the ticket must not change."""
    noisy = text
    for at, ch in noise:
        noisy = noisy[:at] + ch + noisy[at:]
    a, b = route(text, catalogue=CAT), route(noisy, catalogue=CAT)
    # an inserted space may split a word ("قط\u0020ع") -- compare only when the words survive
    if normalise(noisy).split() == normalise(text).split():
        assert (b.action, b.code, b.account, b.refs) == (a.action, a.code, a.account, a.refs)


@given(st.text())
@settings(max_examples=500)
def test_routing_the_normalised_text_asks_for_the_same_thing(text: str) -> None:
    a, b = route(text, catalogue=CAT), route(normalise(text), catalogue=CAT)
    assert (b.action, b.code, b.category, b.account, b.refs) == (a.action, a.code, a.category, a.account, a.refs)
