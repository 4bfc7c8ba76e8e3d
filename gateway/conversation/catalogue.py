"""The keyword catalogue: codes, their words and replies, and how a message's words find a code.

What organisations edit is ``config/keywords.toml``; :mod:`gateway.conversation.keywords`
reads and validates it into the :class:`Catalogue` defined here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.conversation import fill
from gateway.conversation.text import localise_digits

UPDATE_PREFIX = "update_"  # [replies.update_resolved]: the CRM set status "resolved"; else [replies.update]
OPT_ACTIONS = ("stop", "start")  # only the whole message counts (see Catalogue.opt_in_or_out)
MAX_PHRASE = 3  # words in one keyword
FUZZY_MIN = 5  # words this long match with one letter wrong, missing, extra or swapped


@dataclass(frozen=True)
class Code:
    """One thing a customer can ask for."""

    code: str  # what the customer types, e.g. "1"
    action: str  # "ticket" or "help"
    category: str | None  # ticket category, e.g. "outage"
    argument: str  # "account": a number may follow; "none"
    words: dict[str, tuple[str, ...]]  # language -> words as written
    labels: dict[str, str]  # language -> name shown in the menu and replies
    reply: str | None  # name of the reply template
    alone: frozenset[tuple[str, ...]] = frozenset()  # STOP/START words that count only entirely alone (normalised)


@dataclass(frozen=True)
class Catalogue:
    path: str
    codes: tuple[Code, ...]
    replies: dict[str, dict[str, str]]  # template name -> language -> text
    index: dict[tuple[str, ...], tuple[Code, str | None]]  # normalised tokens -> (code, language of the word)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)  # ticket status -> language -> name
    politeness: dict[str, tuple[str, ...]] = field(default_factory=dict)  # language -> words as written
    polite: dict[tuple[str, ...], str | None] = field(default_factory=dict)  # normalised tokens -> language

    def opt_in_or_out(self, toks: list[str]) -> tuple[Code, str | None] | None:
        """The STOP or START code when the whole message is made of its words, and
        nothing else: one or more of that code's words (repeats allowed: "STOP STOP"),
        and politeness words from ``[politeness]`` before, after or between them
        ("STOP please", "لطفا لغو"). A word in the code's ``alone`` list ("ابدأ", also
        Persian "never") counts only as the entire message. Anything else -- another
        word, a number, the other code's word -- and it is not an opt-out or opt-in.
        Returns (code, language): that of the first code word that has one, else of
        the first politeness word that has one, else None."""
        code: Code | None = None
        word_language: str | None = None
        polite_language: str | None = None
        i = 0
        while i < len(toks):
            for n in range(min(MAX_PHRASE, len(toks) - i), 0, -1):
                key = tuple(toks[i : i + n])
                hit = self.index.get(key)
                if hit is not None and hit[0].action in OPT_ACTIONS:
                    if (code is not None and hit[0] is not code) or (key in hit[0].alone and n != len(toks)):
                        return None
                    code, word_language = hit[0], word_language or hit[1]
                    break
                if key in self.polite:
                    polite_language = polite_language or self.polite[key]
                    break
            else:
                return None
            i += n
        if code is None:
            return None
        return code, word_language or polite_language

    def lookup(self, toks: list[str], fuzzy: bool = True) -> tuple[Code, str | None, int] | None:
        """The code the message starts with: (code, language of the word, tokens used),
        longest match first; then a one-word keyword with a single typo (long words only,
        and only when exactly one keyword is that close)."""
        for n in range(min(MAX_PHRASE, len(toks)), 0, -1):
            hit = self.index.get(tuple(toks[:n]))
            if hit is not None:
                return hit[0], hit[1], n
        article = bool(toks) and toks[0].startswith("ال") and len(toks[0]) > 4
        if article:  # Arabic's article: الفاتورة -> فاتورة (an Arabic word only: التماس is Persian "plea")
            hit = self.index.get((toks[0][2:],))
            if hit is not None and hit[1] == "ar":
                return hit[0], hit[1], 1
        # one letter wrong: never for STOP/START (الغاز "the gas" is one letter from الغاء), never
        # for a word with the Arabic article (too many words differ from a keyword by one letter)
        if fuzzy and toks and not article and len(toks[0]) >= FUZZY_MIN and not toks[0].isdigit():
            close = {
                key: hit
                for key, hit in self.index.items()
                if len(key) == 1
                and len(key[0]) >= FUZZY_MIN
                and hit[0].action not in OPT_ACTIONS
                and _one_edit(toks[0], key[0])
            }
            codes = {id(hit[0]) for hit in close.values()}
            if len(codes) == 1:
                hit = next(iter(close.values()))
                return hit[0], hit[1], 1
        return None

    def code(self, code: str) -> Code | None:
        return next((c for c in self.codes if c.code == code), None)

    def status_label(self, status: str, language: str) -> str:
        texts = self.statuses.get(status, {})
        return texts.get(language) or texts.get("en") or status.replace("_", " ")

    def reply(self, name: str, language: str) -> str:
        texts = self.replies[name]
        return texts.get(language) or texts.get("en") or next(iter(texts.values()))

    def update_reply(self, status: str) -> str:
        """The reply that tells a customer the CRM changed their ticket to ``status``."""
        name = UPDATE_PREFIX + status
        return name if name in self.replies else "update"

    def menu(self, language: str) -> str:
        """The numbered menu: the codes that are digits (STOP, START, help are not in it)."""
        lines = []
        for c in self.codes:
            if c.action in ("help", "stop", "start") or not c.code.isdigit():
                continue
            word = (c.words.get(language) or c.words.get("en") or ("",))[0]
            label = c.labels.get(language) or c.labels.get("en") or c.category or c.code
            values = {"code": localise_digits(c.code, language), "word": word, "label": label}
            lines.append(fill.render(self.reply("menu_line", language), values))
        return "\n".join(lines)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one letter changed, inserted, removed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]
