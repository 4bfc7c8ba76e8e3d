"""STOP and START words: the carriers' opt-out forms and their Persian and Arabic
equivalents opt a number out (or back in) when they are the whole message; a sentence
that merely contains one of them never does."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.conversation.keywords import load_catalogue
from gateway.conversation.replies import compose
from gateway.conversation.router import route
from gateway.conversation.text import normalise, tokens

CATALOGUE = load_catalogue()

# (message, language of the confirmation)
OPT_OUTS = [
    # the CTIA / US carrier set
    ("STOP", "en"),
    ("stop", "en"),
    ("Stop.", "en"),
    ("STOPALL", "en"),
    ("STOP ALL", "en"),
    ("stop all", "en"),
    ("UNSUBSCRIBE", "en"),
    ("CANCEL", "en"),
    ("END", "en"),
    ("QUIT", "en"),
    ("OPTOUT", "en"),
    ("OPT OUT", "en"),
    ("opt-out", "en"),
    ("REVOKE", "en"),
    # repeated, with a politeness word, punctuation, emoji
    ("stop please", "en"),
    ("Please STOP!", "en"),
    ("STOP STOP", "en"),
    ("STOP. STOP. STOP.", "en"),
    ("unsubscribe, thank you", "en"),
    ("STOP 🙏", "en"),
    # Persian
    ("لغو", "fa"),
    ("لغو لطفا", "fa"),
    ("لطفاً لغو", "fa"),
    ("لغو لغو", "fa"),
    ("سلام، لغو", "fa"),
    ("انصراف", "fa"),
    ("لغو عضویت", "fa"),
    ("لغو\u200c", "fa"),  # a ZWNJ left behind by the keyboard
    ("ﻟﻐﻮ", "fa"),  # presentation forms
    ("لغو ممنون", "fa"),
    # Arabic (Arabic or Persian yeh and kaf alike)
    ("إلغاء", "ar"),
    ("الغاء", "ar"),
    ("إلغاء الاشتراك", "ar"),
    ("الغاء الاشتراک", "ar"),
    ("إيقاف", "ar"),
    ("ایقاف", "ar"),
    ("أوقف من فضلك", "ar"),
    ("إلغاء الاشتراك، شكراً", "ar"),
]


@pytest.mark.parametrize(("text", "language"), OPT_OUTS)
def test_opt_out_forms_opt_out_and_are_confirmed_in_the_customers_language(text: str, language: str) -> None:
    d = route(text, catalogue=CATALOGUE, default_language="fa")
    assert (d.action, d.language) == ("stop", language)
    confirmation = compose(CATALOGUE, d) or ""
    assert confirmation == CATALOGUE.reply("stopped", language)


@pytest.mark.parametrize(
    "text",
    ["START", "start please", "UNSTOP", "SUBSCRIBE", "Start!", "START START", "شروع", "شروع لطفا", "عضویت", "ابدأ",
     "ابدا", "اشترك"],
)  # fmt: skip
def test_opt_in_forms_opt_back_in(text: str) -> None:
    d = route(text, catalogue=CATALOGUE, default_language="fa")
    assert d.action == "start"


def test_a_word_persian_and_arabic_share_is_answered_in_the_senders_language() -> None:
    """توقف is "stop" in both: the reply follows what we know of the phone."""
    assert route("توقف", catalogue=CATALOGUE, number_language="ar").language == "ar"
    assert route("توقف", catalogue=CATALOGUE, number_language="fa").language == "fa"
    assert route("توقف", catalogue=CATALOGUE, known_language="ar", number_language="fa").language == "ar"
    assert route("توقف لطفا", catalogue=CATALOGUE, number_language="ar").language == "fa"  # لطفا is Persian


# Messages that contain an opt-out or opt-in word but are not one: (message, what happens instead)
NOT_OPT_OUTS = [
    ("please cancel my last report, power is back", "help"),
    ("the outage won't stop", "ticket"),
    ("don't stop", "help"),
    ("stop 48213", "help"),
    ("OPT OUT 48213", "help"),  # not an outage report either: "OUT" belongs to "OPT OUT" here
    ("cancel bill 77031", "ticket"),
    ("no power since the end of the match 48213", "ticket"),
    ("quit calling me", "help"),
    ("STOP START", "help"),  # which one? the menu, not a guess
    ("stop no", "help"),
    ("لغو قبض ۷۷۰۳۱", "ticket"),
    ("برق ما هیچوقت قطع نمیشه لغو نکنید", "ticket"),
    ("الرجاء إلغاء البلاغ السابق", "help"),
    # "ابدا" is Arabic "start" and Persian "never": only on its own, never repeated, never with "thanks"
    ("ابدا برق نداریم", "help"),
    ("ابدا ممنون", "help"),
    ("ابدا ابدا", "help"),
    ("نه ابدا", "help"),
    ("لطفاً لغو کنید", "help"),  # a verb is not on the list
]


@pytest.mark.parametrize(("text", "instead"), NOT_OPT_OUTS)
def test_sentences_that_contain_a_stop_word_opt_nobody_out(text: str, instead: str) -> None:
    assert route(text, catalogue=CATALOGUE, default_language="fa").action == instead


def test_opt_out_no_longer_opens_an_outage_ticket() -> None:
    """The words "OPT OUT" used to be read as the outage word OUT after an unknown word."""
    d = route("opt out", catalogue=CATALOGUE)
    assert (d.action, d.category) == ("stop", None)


# ---------------------------------------------------------------- properties

_STOP = next(c for c in CATALOGUE.codes if c.action == "stop")
_START = next(c for c in CATALOGUE.codes if c.action == "start")
_FORMS = [w for ws in _STOP.words.values() for w in ws] + [_STOP.code]
_OPT_IN = [w for ws in _START.words.values() for w in ws if tuple(tokens(normalise(w))) not in _START.alone]
_POLITE = [w for ws in CATALOGUE.politeness.values() for w in ws]
# every token that is part of an opt-out, opt-in or politeness phrase
_KNOWN = {t for w in _FORMS + _OPT_IN + _POLITE + ["ابدأ"] for t in tokens(normalise(w))}
ORDINARY = [
    "my", "last", "report", "power", "is", "back", "the", "outage", "won't", "since", "street", "meter",
    "برق", "نداریم", "از", "دیشب", "قطع", "شد", "هنوز", "نیامده", "قبض", "اشتباه", "است", "کنید",
    "الكهرباء", "مقطوعة", "منذ", "أمس", "البلاغ", "السابق", "48213", "۴۸۲۱۳", "١٢-٠٠٠٠٠٧",
]  # fmt: skip


def _ordinary_word() -> st.SearchStrategy[str]:
    made_up = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Lo", "Nd")), min_size=1, max_size=8).filter(
        lambda w: bool(tokens(normalise(w))) and not set(tokens(normalise(w))) & _KNOWN
    )
    return st.sampled_from(ORDINARY) | made_up


@given(
    st.lists(_ordinary_word(), min_size=1, max_size=8),
    st.lists(st.sampled_from(_FORMS + _OPT_IN + _POLITE), min_size=1, max_size=3),
    st.randoms(use_true_random=False),
    st.sampled_from([" ", ", ", "! ", " - ", "\n"]),
)
@settings(max_examples=400, deadline=None)
def test_ordinary_sentences_containing_stop_words_are_not_opt_outs(
    words: list[str], stop_words: list[str], rnd: random.Random, sep: str
) -> None:
    message = list(words)
    for w in stop_words:
        message.insert(rnd.randint(0, len(message)), w)
    d = route(sep.join(message), catalogue=CATALOGUE, default_language="fa")
    assert d.action not in ("stop", "start")


@given(
    st.lists(st.sampled_from(_FORMS), min_size=1, max_size=3),
    st.lists(st.sampled_from(_POLITE), max_size=1),
    st.lists(st.sampled_from(_POLITE), max_size=1),
    st.sampled_from([str.upper, str.lower, str.title, str]),
    st.sampled_from([" ", ", ", "! ", ".\n", " \u200c"]),
)
@settings(max_examples=300, deadline=None)
def test_any_opt_out_form_repeated_with_politeness_opts_out(
    forms: list[str], before: list[str], after: list[str], case: Callable[[str], str], sep: str
) -> None:
    text = sep.join(before + forms + after)
    assert route(case(text), catalogue=CATALOGUE).action == "stop"
