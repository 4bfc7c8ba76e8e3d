"""What to do with a customer's SMS (pure): match a code, pick the language, decide.

``gateway parse`` shows a :class:`Decision` without side effects; the intake
acts on the same decision. Nothing here touches the database or a modem.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from gateway.conversation.catalogue import OPT_ACTIONS, Catalogue, Code
from gateway.conversation.phones import SenderKind
from gateway.conversation.refs import ref_candidates
from gateway.conversation.text import TOKEN, is_number, normalise, script_of

Action = Literal["ticket", "status", "stop", "start", "help", "ignore", "ask_account"]  # ask_account: menus only
ACCOUNT_MIN_DIGITS = 4  # shorter numbers are hours, days, floors -- not account numbers ("no power for 2 days")
_NUMBER_ONLY = re.compile(r"^\d+(?:\s*[-.‐-―−/]\s*\d+)*$")  # 48213, 48-213, 48.213
_REF_IN_TEXT = re.compile(r"\d{1,3}\s*[-\u2010-\u2015\u2212]?\s*\d{6,}")


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    language: str
    code: str | None = None
    category: str | None = None
    account: str | None = None
    refs: tuple[str, ...] = ()  # ticket references the message may name (STATUS)
    number: str | None = None  # the whole message was this number (in a menu: a choice or an account)
    numbers: tuple[str, ...] = ()  # every number in the message, in order
    reply: str | None = None  # reply template; None = stay silent
    matched: str | None = None  # the word or code that matched, normalised

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_language(
    text: str,
    *,
    word_language: str | None,
    known_language: str | None,
    number_language: str | None,
    default_language: str,
) -> str:
    """The language to answer in.

    Letters or digits only one language uses (پ گ ۴ / ة ٤); else the language of the
    keyword that matched; else letters typical of one language's keyboard (ی ک / ي ك --
    a Persian speaker on an Arabic keyboard still gets Persian when the word was
    Persian); else what we know of this phone; else what its country code suggests;
    else the site default. Arabic script is answered in Persian or Arabic, never English.
    """
    script = script_of(text)
    if script.script == "latin":
        return word_language or "en"
    if script.script == "arabic" and word_language not in ("fa", "ar"):
        word_language = None  # "OUT قطع 48213": someone who writes Persian gets Persian
    for language in (script.strong, word_language, script.weak):
        if language:
            return language
    candidates = (known_language, number_language, default_language)
    if script.script == "arabic":
        return next((c for c in candidates if c in ("fa", "ar")), "fa")
    return next(c for c in candidates if c)


def route(
    text: str,
    *,
    catalogue: Catalogue,
    sender_kind: SenderKind = "person",
    default_language: str = "fa",
    known_language: str | None = None,
    number_language: str | None = None,
    account_min_digits: int = ACCOUNT_MIN_DIGITS,
) -> Decision:
    """Decide what ``text`` from a sender of ``sender_kind`` should do. Never raises on any text.

    This is what the message says on its own; :mod:`gateway.conversation.turns` then weighs it
    against what the sender did before (a menu in progress, repeats, floods).
    """
    norm = normalise(text)
    spans = [(m.group(0), m.end()) for m in TOKEN.finditer(norm)]
    toks = [t for t, _ in spans]
    numbers = tuple(t for t in toks if is_number(t))
    number = "".join(numbers) if numbers and _NUMBER_ONLY.match(norm) else None
    hit = _find_code(toks, norm, catalogue)
    word_language = hit[1] if hit else None
    language = choose_language(
        text,
        word_language=word_language,
        known_language=known_language,
        number_language=number_language,
        default_language=default_language,
    )
    if sender_kind != "person":
        return Decision("ignore", f"{sender_kind.replace('_', ' ')} sender: stored, never answered", language)
    if hit is None:
        reason = "no words or digits" if not toks else ("a number on its own" if number else "no known code")
        return Decision("help", reason, language, number=number, numbers=numbers, reply="help")
    code, _, start, used = hit
    matched = " ".join(toks[start : start + used]) if toks else norm

    def decided(action: Action, reason: str, **extra: Any) -> Decision:
        return Decision(
            action,
            reason,
            language,
            code=code.code,
            reply=code.reply,
            matched=matched,
            number=number,
            numbers=numbers,
            **extra,
        )

    if code.action in ("help", "stop", "start"):
        reasons = {"help": "asked for help", "stop": "opts out of broadcasts", "start": "opts back in"}
        return decided(code.action, reasons[code.action])  # type: ignore[arg-type]
    after = norm[spans[start + used - 1][1] :] if toks and used else norm
    if code.action == "status":
        refs = tuple(dict.fromkeys(r for m in _REF_IN_TEXT.finditer(after) for r in ref_candidates(m.group(0))))
        return decided("status", "asks about a request", refs=refs)
    account = _account(code, toks[start + used :], toks[:start], account_min_digits)
    return decided("ticket", f"code {code.code} ({code.category})", category=code.category, account=account)


def _find_code(toks: list[str], norm: str, catalogue: Catalogue) -> tuple[Code, str | None, int, int] | None:
    """STOP or START when the whole message is one (:meth:`Catalogue.opt_in_or_out`);
    else the code at the start; else the first keyword *word* later on ("salam, OUT 48213").

    A bare digit later in the text is not taken as a code: it is too likely a number.
    A STOP or START word anywhere else opts nobody in or out, and its words are not read
    again as another code ("OPT OUT 48213" is not an outage report). Later in the text a
    status word counts only when a number follows it ("... في حالة طوارئ" is "in case of
    emergency")."""
    if not toks:
        marks = norm.replace(" ", "")
        if marks and set(marks) <= {"?", "؟"}:  # "?", "??", "؟ ؟"
            found = catalogue.lookup(["?"])
            return (found[0], found[1], 0, 0) if found else None
        return None
    opt = catalogue.opt_in_or_out(toks)
    if opt is not None:
        return opt[0], opt[1], 0, len(toks)
    found = catalogue.lookup(toks)
    if found and found[0].action not in OPT_ACTIONS:
        return found[0], found[1], 0, found[2]
    for i in range(found[2] if found else 1, len(toks)):
        if is_number(toks[i]):
            continue
        found = catalogue.lookup(toks[i:], fuzzy=False)
        if found is None or found[1] is None:
            continue
        code, _, used = found
        if code.action in OPT_ACTIONS or code.action == "help":
            continue
        if code.action == "status" and not (i + used < len(toks) and is_number(toks[i + used])):
            continue
        return found[0], found[1], i, used
    return None


def _account(code: Code, after: list[str], before: list[str], min_digits: int) -> str | None:
    """The first number long enough to be an account after the code ("1 48213", "no power
    for 2 days 48213"), else the nearest one before it ("48213 قطع")."""
    if code.argument != "account":
        return None
    for tok in after:
        if is_number(tok) and len(tok) >= min_digits:
            return tok
    for tok in reversed(before):
        if is_number(tok) and len(tok) >= min_digits:
            return tok
    return None
