"""The console's words and how it writes numbers and dates, per language (pure).

Labels live in ``locale/{en,fa,ar}.toml`` beside this module; an organisation changes them in
files of its own (``[web] locale_dir``: ``fa.toml`` etc. with only the keys it rewords, kept
across upgrades), read over the shipped ones key by key. A key missing from a language falls
back to English, and one missing from English shows its
own key (so a typo is seen, never a crash). Persian dates are Jalali (Solar Hijri); Persian and
Arabic write digits in their own script; all dates in the site's time zone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.conversation.text import localise_digits

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("fa", "ar", "en")
FALLBACK = "en"
RTL = frozenset({"fa", "ar"})


@cache
def _table(language: str, override: str = "") -> dict[str, Any]:
    """The shipped labels of ``language``, with those of ``override/LANGUAGE.toml`` over them."""
    with (LOCALE_DIR / f"{language}.toml").open("rb") as f:
        table: dict[str, Any] = tomllib.load(f)
    own = Path(override) / f"{language}.toml" if override else None
    if own is not None and own.is_file():
        with own.open("rb") as f:
            for section, keys in tomllib.load(f).items():
                if isinstance(keys, dict):
                    table[section] = {**table.get(section, {}), **keys}
    return table


@dataclass(frozen=True)
class Words:
    """One language's labels, digits and dates: what a template calls ``t``."""

    language: str
    timezone: str
    override: str = ""  # [web] locale_dir, resolved: the organisation's own wording

    @property
    def dir(self) -> str:
        return "rtl" if self.language in RTL else "ltr"

    def __call__(self, key: str, section: str = "labels", **values: object) -> str:
        """The label ``key`` (of ``section``), with ``{name}`` filled from ``values``: numbers in
        the language's digits, text as given (a name stays as its owner writes it; pass
        :meth:`digits` or :meth:`ltr` of a reference)."""
        for language in (self.language, FALLBACK):
            found = _table(language, self.override).get(section, {}).get(key)
            if isinstance(found, str):
                break
        else:
            found = key
        for name, value in values.items():
            shown = value if isinstance(value, str) else self.digits(value)
            found = found.replace("{" + name + "}", shown)
        return found

    def status(self, status: str) -> str:
        return self(status, "statuses")

    def delivery(self, state: str | None) -> str:
        return self(state or "queued", "delivery")

    def language_name(self, language: str) -> str:
        return self(language, "languages")

    def digits(self, value: object) -> str:
        """``value`` as text, its ASCII digits in the language's script."""
        return localise_digits(str(value), self.language)

    def ltr(self, value: object) -> str:
        """``value`` (a reference, a number) in the language's digits, isolated left to right
        (U+2066 ... U+2069) so that right-to-left text around it keeps ``12-000345`` in order."""
        return f"\u2066{self.digits(value)}\u2069"

    def date(self, stamp: str | None, *, seconds: bool = False) -> str:
        """An ISO 8601 time (UTC) in the site's zone: ``1405-09-11 12:30`` for fa (Jalali),
        ``2026-12-02 12:30`` otherwise; digits in the language's script."""
        if not stamp:
            return ""
        try:
            at = datetime.fromisoformat(stamp).astimezone(ZoneInfo(self.timezone))
        except ValueError:
            return self.digits(stamp)
        shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        if self.language == "fa":
            import jdatetime

            return self.digits(jdatetime.datetime.fromgregorian(datetime=at.replace(tzinfo=None)).strftime(shape))
        return self.digits(at.strftime(shape))


def words(language: str | None, timezone: str, default: str = FALLBACK, override: str = "") -> Words:
    """The words of ``language`` (a user's), else ``default`` (``[site] language``), with the
    organisation's own from ``override`` (``[web] locale_dir``)."""
    chosen = language if language in LANGUAGES else default if default in LANGUAGES else FALLBACK
    return Words(chosen, timezone, override)
