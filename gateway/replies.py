"""Reply texts in the customer's language (pure): a template filled with safe values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from .catalogue import Catalogue
from .router import Decision
from .templates import render
from .text import localise_digits

_NUMERIC = ("ref", "account", "code")  # values written in the customer's digits


def render_reply(catalogue: Catalogue, name: str, language: str, values: Mapping[str, str] | None = None) -> str:
    """Reply ``name`` in ``language``. Numbers are written in the customer's digits
    (۱۲-۰۰۰۳۴۵ for Persian, ١٢-٠٠٠٣٤٥ for Arabic). Only our own values are inserted;
    the customer's text never reaches a template."""
    vals = dict(values or {})
    if name == "help":
        vals["menu"] = catalogue.menu(language)
    for key in _NUMERIC:
        if key in vals:
            vals[key] = localise_digits(vals[key], language)
    return render(catalogue.reply(name, language), vals)


def compose(catalogue: Catalogue, decision: Decision, *, ref: str | None = None) -> str | None:
    """The reply for a router decision on its own (no history): what ``gateway parse`` shows."""
    if decision.reply is None:
        return None
    lang = decision.language
    code = catalogue.code(decision.code or "")
    label = (code.labels.get(lang) or code.labels.get("en") or code.category or "") if code else ""
    values = {"ref": ref or "", "label": label, "account": decision.account or "", "code": decision.code or ""}
    if decision.action == "status":
        values.update(status=catalogue.status_label("open", lang), opened="")
    return render_reply(catalogue, decision.reply, lang, values)


def format_when(at: datetime, tz: ZoneInfo, language: str) -> str:
    """A moment as the customer reads dates: the Persian calendar for Persian, day/month/year
    for Arabic, "23 Nov 2026 14:05" for English; in the customer's digits."""
    local = at.astimezone(tz)
    if language == "fa":
        j = jdatetime.date.fromgregorian(date=local.date())
        text = f"{j.year}/{j.month:02d}/{j.day:02d} {local:%H:%M}"
    elif language == "ar":
        text = f"{local:%d/%m/%Y %H:%M}"
    else:
        text = f"{local.day} {local:%b %Y %H:%M}"
    return localise_digits(text, language)
