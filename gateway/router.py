"""What to do with a customer's SMS (pure): match a code, pick the language, decide.

``gateway parse`` shows a :class:`Decision` without side effects; the intake
acts on the same decision. Nothing here touches the database or a modem.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from .catalogue import Catalogue, Code
from .phones import SenderKind
from .text import is_number, normalise, script_language, tokens

Action = Literal["ticket", "help", "ignore"]
ACCOUNT_LOOKAHEAD = 3  # an account number may follow the code within this many words ("قطع برق ۴۸۲۱۳")


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    language: str
    code: str | None = None
    category: str | None = None
    account: str | None = None
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
    """The script of the message; else the language of the word that matched; else what we
    know of this phone; else what its country code suggests; else the site default.
    Arabic script without tell-tale letters is Persian or Arabic, never English."""
    language, script = script_language(text)
    if language:
        return language
    if word_language:
        return word_language
    candidates = (known_language, number_language, default_language)
    if script == "arabic":
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
) -> Decision:
    """Decide what ``text`` from a sender of ``sender_kind`` should do. Never raises on any text."""
    toks = tokens(normalise(text))
    hit = _find_code(toks, text, catalogue)
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
        reason = "no words or digits" if not toks else "no known code"
        return Decision("help", reason, language, reply="help")
    code, _, start, used = hit
    matched = " ".join(toks[start : start + used]) if toks else text.strip()
    if code.action == "help":
        return Decision("help", "asked for help", language, code=code.code, reply=code.reply, matched=matched)
    account = _account(code, toks[start + used :])
    return Decision(
        "ticket",
        f"code {code.code} ({code.category})",
        language,
        code=code.code,
        category=code.category,
        account=account,
        reply=code.reply,
        matched=matched,
    )


def _find_code(toks: list[str], text: str, catalogue: Catalogue) -> tuple[Code, str | None, int, int] | None:
    """The code at the start; else the first keyword *word* later on ("salam, OUT 48213").
    A bare digit later in the text is not taken as a code: it is too likely a number."""
    if not toks:
        stripped = text.strip()
        if stripped in ("?", "؟"):
            found = catalogue.lookup(["?"])
            return (found[0], found[1], 0, 0) if found else None
        return None
    found = catalogue.lookup(toks)
    if found:
        return found[0], found[1], 0, found[2]
    for i in range(1, len(toks)):
        if is_number(toks[i]):
            continue
        found = catalogue.lookup(toks[i:])
        if found and found[1] is not None:
            return found[0], found[1], i, found[2]
    return None


def _account(code: Code, rest: list[str]) -> str | None:
    if code.argument != "account":
        return None
    for tok in rest[:ACCOUNT_LOOKAHEAD]:
        if is_number(tok):
            return tok
    return None
