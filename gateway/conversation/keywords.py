"""Reading the keyword catalogue (``config/keywords.toml``) into a :class:`~gateway.conversation.catalogue.Catalogue`.

Organisations edit the file without touching code. It is validated when the
daemon starts and by ``gateway check-config``; every error names the file,
the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.config import LANGUAGES
from gateway.config.resources import shipped
from gateway.config.toml import TomlLocator, read_toml
from gateway.conversation import fill
from gateway.conversation.catalogue import MAX_PHRASE, OPT_ACTIONS, UPDATE_PREFIX, Catalogue, Code
from gateway.conversation.text import normalise, tokens
from gateway.exceptions import CatalogueError

ACTIONS = ("ticket", "status", "stop", "start", "help")
ARGUMENTS = ("account", "ref", "text", "none")
REQUIRED_REPLIES = ("help", "menu_line", "update")
# replies an action needs besides its own, and the placeholders each fixed reply may use
ACTION_REPLIES = {
    "ticket": ("already_registered",),
    "status": ("status_not_found", "status_none"),
}
TICKET_VARIABLES = {"ref", "label", "account", "code"}
REPLY_VARIABLES = {
    "help": {"menu"},
    "menu_line": {"code", "word", "label"},
    "already_registered": TICKET_VARIABLES,
    "ask_account": {"label", "code"},
    "status_not_found": {"ref"},
    "status_none": set(),
    "update": {"ref", "label", "status", "account", "code"},
    # a known outage (gateway.outages): its areas, since when, its estimated restoration
    "outage_linked": {*TICKET_VARIABLES, "area", "since", "eta"},
    "still_out": {*TICKET_VARIABLES, "area", "since", "eta"},
    "status_outage": {"ref", "label", "status", "opened", "account", "code", "area", "since", "eta"},
}
ACTION_VARIABLES = {
    "ticket": TICKET_VARIABLES,
    "status": {"ref", "label", "status", "opened", "account", "code"},
    "stop": set(),
    "start": set(),
    "help": {"menu"},
}


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue; ``None`` is the shipped ``config/keywords.toml``."""
    path = path or shipped("keywords.toml")
    raw, source = read_toml(path, "[replies] catalogue")
    return parse_catalogue(raw, str(path), source)


def parse_catalogue(raw: dict[str, Any], where: str, source: str = "") -> Catalogue:
    loc = TomlLocator(where, source)
    for key in raw:
        if key not in ("codes", "replies", "statuses", "politeness"):
            raise loc.error(
                key,
                "unknown section",
                "the catalogue has [[codes]], [politeness], [statuses] and [replies.NAME]",
                header=f"[{key}]",
            )
    replies = _replies(raw.get("replies", {}), loc)
    statuses = _statuses(raw.get("statuses", {}), loc)
    codes = tuple(_code(entry, n, loc, replies) for n, entry in enumerate(raw.get("codes", []), start=1))
    for n, c in enumerate(codes, start=1):
        needed = list(ACTION_REPLIES.get(c.action, ()))
        if c.argument == "account" and c.action == "ticket":
            needed.append("ask_account")
        for name in needed:
            if name not in replies:
                raise loc.error(
                    f"codes[{n}]", f"a {c.action} code needs [replies.{name}]", "add it with fa, ar and en",
                    header="[[codes]]", occurrence=n,
                )  # fmt: skip
    if not codes:
        raise loc.error(
            "codes", "no [[codes]] defined", "copy them from the shipped config/keywords.toml", header="[[codes]]"
        )
    index: dict[tuple[str, ...], tuple[Code, str | None]] = {}
    shared: set[tuple[str, ...]] = set()  # a STOP/START word listed in two languages (توقف: fa and ar)
    for n, c in enumerate(codes, start=1):
        entries: list[tuple[str, str | None]] = [(c.code, None)]
        # a word without letters ("0", "?") says nothing about the sender's language
        entries += [(w, lang if any(ch.isalpha() for ch in w) else None) for lang, ws in c.words.items() for w in ws]
        for word, lang in entries:
            phrase = tuple(tokens(normalise(word)))
            if not phrase and word.strip() in ("?", "؟"):
                phrase = ("?",)
            if not phrase or len(phrase) > MAX_PHRASE:
                raise loc.error(
                    f"codes[{n}].words",
                    f"{word!r} cannot be matched",
                    f"use 1-{MAX_PHRASE} words of letters or digits",
                    header="[[codes]]",
                    occurrence=n,
                    field="words",
                )
            other = index.get(phrase)
            if other is not None and other[0] is not c:
                raise loc.error(
                    f"codes[{n}].words",
                    f"{word!r} is also a word of code {other[0].code!r}",
                    "a word may belong to one code only",
                    header="[[codes]]",
                    occurrence=n,
                    field="words",
                )
            if other is not None and other[1] != lang and c.action in OPT_ACTIONS:
                shared.add(phrase)
            index.setdefault(phrase, (c, lang))
    for phrase in shared:  # says nothing about the sender's language: the phone's language decides
        index[phrase] = (index[phrase][0], None)
    politeness, polite = _politeness(raw.get("politeness", {}), index, loc)
    return Catalogue(where, codes, replies, index, statuses, politeness, polite)


def _politeness(
    table: Any, index: dict[tuple[str, ...], tuple[Code, str | None]], loc: TomlLocator
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, ...], str | None]]:
    """``[politeness]``: words that may stand around a STOP or START word ("please", "لطفا")."""
    header = "[politeness]"
    if not isinstance(table, dict):
        raise loc.error("politeness", "must be a table of languages", 'e.g. en = ["PLEASE"]', header=header)
    written: dict[str, tuple[str, ...]] = {}
    polite: dict[tuple[str, ...], str | None] = {}
    for lang, words in table.items():
        key = f"politeness.{lang}"
        if lang not in LANGUAGES:
            raise loc.error(key, "unknown language", f"use {', '.join(LANGUAGES)}", header=header, field=lang)
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise loc.error(key, "must be a list of words", f'e.g. {lang} = ["PLEASE"]', header=header, field=lang)
        for word in words:
            phrase = tuple(tokens(normalise(word)))
            if not phrase or len(phrase) > MAX_PHRASE:
                raise loc.error(
                    key,
                    f"{word!r} cannot be matched",
                    f"use 1-{MAX_PHRASE} words of letters",
                    header=header,
                    field=lang,
                )
            if phrase in index:
                raise loc.error(
                    key,
                    f"{word!r} is also a word of code {index[phrase][0].code!r}",
                    "a politeness word may not be a code's word",
                    header=header,
                    field=lang,
                )
            polite[phrase] = None if phrase in polite and polite[phrase] != lang else lang
        written[lang] = tuple(words)
    return written, polite


def _statuses(table: Any, loc: TomlLocator) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict):
        raise loc.error("statuses", "must be a table", 'e.g. open.en = "registered"', header="[statuses]")
    out: dict[str, dict[str, str]] = {}
    for status, texts in table.items():
        if not isinstance(texts, dict) or not all(
            lang in LANGUAGES and isinstance(t, str) for lang, t in texts.items()
        ):
            raise loc.error(
                f"statuses.{status}", "must map languages to names", f'e.g. {status}.fa = "..."',
                header="[statuses]", field=status,
            )  # fmt: skip
        out[status] = dict(texts)
    return out


def _replies(table: Any, loc: TomlLocator) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict):
        raise loc.error("replies", "must be tables [replies.NAME]", header="[replies]")
    out: dict[str, dict[str, str]] = {}
    for name, texts in table.items():
        header = f"[replies.{name}]"
        if not isinstance(texts, dict):
            raise loc.error(f"replies.{name}", "must be a table of languages", 'e.g. en = "..."', header=header)
        for lang, text in texts.items():
            if lang not in LANGUAGES:
                raise loc.error(
                    f"replies.{name}.{lang}",
                    "unknown language",
                    f"use {', '.join(LANGUAGES)}",
                    header=header,
                    field=lang,
                )
            if not isinstance(text, str) or not text.strip():
                raise loc.error(f"replies.{name}.{lang}", "must be a non-empty string", header=header, field=lang)
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise loc.error(
                f"replies.{name}",
                f"has no text for {', '.join(missing)}",
                "every reply needs fa, ar and en",
                header=header,
            )
        out[name] = dict(texts)
    for name in REQUIRED_REPLIES:
        if name not in out:
            raise loc.error(
                f"replies.{name}", "is missing", f"add [replies.{name}] with fa, ar and en", header=f"[replies.{name}]"
            )
    for name, allowed in REPLY_VARIABLES.items():
        if name in out:
            _check_placeholders(out, name, allowed, loc)
    for name in out:
        if name.startswith(UPDATE_PREFIX):
            _check_placeholders(out, name, REPLY_VARIABLES["update"], loc)
    return out


def _check_placeholders(replies: dict[str, dict[str, str]], name: str, allowed: set[str], loc: TomlLocator) -> None:
    for lang, text in replies[name].items():
        unknown = fill.placeholders(text) - allowed
        if unknown:
            raise loc.error(
                f"replies.{name}.{lang}",
                f"unknown placeholder {{{sorted(unknown)[0]}}}",
                f"this reply can use {', '.join('{' + a + '}' for a in sorted(allowed))}",
                header=f"[replies.{name}]",
                field=lang,
            )


def _code(entry: Any, n: int, loc: TomlLocator, replies: dict[str, dict[str, str]]) -> Code:
    key = f"codes[{n}]"

    def err(field: str, problem: str, fix: str | None = None) -> CatalogueError:
        return loc.error(f"{key}.{field}", problem, fix, header="[[codes]]", occurrence=n, field=field)

    if not isinstance(entry, dict):
        raise loc.error(key, "must be a table", header="[[codes]]", occurrence=n)
    known = {"code", "action", "category", "argument", "words", "label", "reply", "alone"}
    for k in entry:
        if k not in known:
            raise err(k, "unknown key", f"known keys: {', '.join(sorted(known))}")
    code = entry.get("code")
    if not isinstance(code, str) or not code.strip():
        raise err("code", "is required", 'e.g. code = "1"')
    action = entry.get("action", "ticket")
    if action not in ACTIONS:
        raise err("action", f"{action!r} is not an action", f"use one of {', '.join(ACTIONS)}")
    category = entry.get("category")
    if action == "ticket" and (not isinstance(category, str) or not category.strip()):
        raise err("category", "a ticket code needs a category", 'e.g. category = "outage"')
    argument = entry.get("argument", "none")
    if argument not in ARGUMENTS:
        raise err("argument", f"{argument!r} is not an argument kind", f"use one of {', '.join(ARGUMENTS)}")
    words = entry.get("words", {})
    if not isinstance(words, dict) or any(lang not in LANGUAGES for lang in words):
        raise err("words", "must map languages to lists of words", 'e.g. words.en = ["OUT"]')
    for lang, ws in words.items():
        if not isinstance(ws, list) or not all(isinstance(w, str) and w.strip() for w in ws):
            raise err("words", f"words.{lang} must be a list of non-empty strings")
    labels = entry.get("label", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise err("label", "must map languages to names", 'e.g. label.en = "outage"')
    reply = entry.get("reply", "help" if action == "help" else None)
    if reply is None:
        raise err("reply", f"a {action} code needs a reply template", 'e.g. reply = "ticket_opened"')
    if reply is not None:
        if reply not in replies:
            raise err("reply", f"no [replies.{reply}] in this file", f"add [replies.{reply}] with fa, ar and en")
        _check_placeholders(replies, reply, ACTION_VARIABLES[action], loc)
    alone = entry.get("alone", [])
    if not isinstance(alone, list) or not all(isinstance(w, str) for w in alone):
        raise err("alone", "must be a list of words", 'e.g. alone = ["ابدأ"]')
    if alone and action not in OPT_ACTIONS:
        raise err("alone", "only STOP and START codes have words that count only alone", "remove alone")
    own = {tuple(tokens(normalise(w))) for w in [code, *(w for ws in words.values() for w in ws)]}
    for word in alone:
        if tuple(tokens(normalise(word))) not in own:
            raise err("alone", f"{word!r} is not a word of this code", "list it in words too, or remove it")
    return Code(
        code=code.strip(),
        action=action,
        category=category.strip() if isinstance(category, str) else None,
        argument=argument,
        words={lang: tuple(ws) for lang, ws in words.items()},
        labels=dict(labels),
        reply=reply,
        alone=frozenset(tuple(tokens(normalise(w))) for w in alone),
    )
