"""Pre-approved broadcast notices (``config/templates.toml``): load, check, render (pure).

Operators send one consistent message in a crisis: the texts are written and
approved beforehand, per language, with named variables the operator fills
in at send time. Rendering is safe substitution (:mod:`gateway.conversation.fill`):
a value containing ``{area}`` stays text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import LANGUAGES, Config
from gateway.config.resources import shipped
from gateway.config.toml import TomlLocator, read_toml
from gateway.conversation import fill
from gateway.conversation.text import localise_digits
from gateway.exceptions import CatalogueError, NoticeError, Wording
from sim_bank import EncodeError
from sim_bank.pdu import segment


@dataclass(frozen=True)
class Notice:
    name: str
    description: str
    samples: dict[str, str]  # variable -> sample value
    texts: dict[str, str]  # language -> template

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.samples)

    def render(self, language: str, values: Mapping[str, str]) -> str:
        """The notice in ``language`` with ``values`` (digits written the language's way). A
        value for one language (``area.fa``) wins over the plain one (``area``). Raises
        :class:`NoticeError` when a variable is missing."""
        chosen = {k: v for k, v in values.items() if "." not in k}
        suffix = f".{language}"
        chosen.update({k[: -len(suffix)]: v for k, v in values.items() if k.endswith(suffix)})
        missing = [v for v in self.variables if not str(chosen.get(v, "")).strip()]
        if missing:
            raise NoticeError(Wording(
                "notice {notice} needs {missing} ({language}): add {var} {first}=... (it uses {uses})",
                {"notice": repr(self.name), "missing": ", ".join(missing), "language": language,
                 "var": "the value", "first": missing[0], "uses": ", ".join(self.variables)},
            ))  # fmt: skip
        localised = {k: localise_digits(str(v), language) for k, v in chosen.items()}
        return fill.render(self.texts[language], localised)

    def render_all(self, values: Mapping[str, str]) -> dict[str, str]:
        return {lang: self.render(lang, values) for lang in self.texts}


@dataclass(frozen=True)
class Rendered:
    language: str
    text: str
    parts: int
    encoding: str


def measure(language: str, text: str) -> Rendered:
    seg = segment(text)
    return Rendered(language, text, seg.count, seg.encoding)


def load_notices(path: Path | None = None) -> dict[str, Notice]:
    """Read and check a notices file; ``None`` is the shipped ``config/templates.toml``.
    Errors name the file, the line and the key."""
    path = path or shipped("templates.toml")
    where = str(path)
    raw, source = read_toml(path, "[broadcast] templates")
    loc = TomlLocator(where, source)
    notices = {name: _notice(name, table, loc) for name, table in raw.items()}
    if not notices:
        raise CatalogueError(where, None, "no notices defined", "copy them from the shipped config/templates.toml")
    return notices


def _notice(name: str, table: Any, loc: TomlLocator) -> Notice:
    header = f"[{name}]"
    if not isinstance(table, dict):
        raise loc.error(name, "must be a table", f"write it as [{name}]", header=header)
    known = {"description", "variables", *LANGUAGES}
    for key in table:
        if key not in known:
            raise loc.error(f"{name}.{key}", "unknown key", f"known keys: {', '.join(sorted(known))}",
                            header=header, field=key)  # fmt: skip
    samples = table.get("variables", {})
    if not isinstance(samples, dict) or not all(isinstance(v, str) for v in samples.values()):
        raise loc.error(f"{name}.variables", "must map each variable to a sample value",
                        'e.g. variables = { area = "North district" }', header=header, field="variables")  # fmt: skip
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        text = table.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise loc.error(f"{name}.{lang}", "is missing or empty", "every notice needs fa, ar and en",
                            header=header, field=lang)  # fmt: skip
        unknown = fill.placeholders(text) - set(samples)
        if unknown:
            raise loc.error(
                f"{name}.{lang}", f"uses {{{sorted(unknown)[0]}}}, which is not in its variables",
                f"add it: variables = {{ {sorted(unknown)[0]} = \"sample\" }}", header=header, field=lang,
            )  # fmt: skip
        try:
            segment(fill.render(text, samples))
        except EncodeError as exc:
            raise loc.error(f"{name}.{lang}", f"cannot be sent as SMS: {exc}", header=header, field=lang) from None
        texts[lang] = text
    description = table.get("description", "")
    return Notice(name, description if isinstance(description, str) else "", dict(samples), texts)


def notice(notices: Mapping[str, Notice], name: str) -> Notice:
    try:
        return notices[name]
    except KeyError:
        raise NoticeError(f"no notice {name!r}; there are: {', '.join(sorted(notices))}") from None


def notices(config: Config) -> dict[str, Notice]:
    """The notices of ``config`` ([broadcast] templates, or the shipped ones)."""
    return load_notices(config.templates_path)


def show_notice(config: Config, name: str) -> tuple[Notice, list[Rendered]]:
    """The notice ``name`` rendered in every language with its sample values."""
    n = notice(notices(config), name)
    return n, [measure(lang, text) for lang, text in n.render_all(n.samples).items()]
