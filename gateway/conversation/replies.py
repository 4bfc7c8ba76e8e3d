"""Reply texts in the customer's language (pure): a template filled with safe values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from gateway.conversation.catalogue import Catalogue
from gateway.conversation.fill import render
from gateway.conversation.router import Decision
from gateway.conversation.text import localise_digits
from sim_bank import EncodeError
from sim_bank.pdu import count_parts

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


def status_notice(
    catalogue: Catalogue, status: str, *, language: str, code: str, category: str, ref: str, account: str | None
) -> str:
    """What tells a customer their ticket is now ``status`` (``[replies.update_STATUS]``, else
    ``[replies.update]``), in their language and digits. The one wording both a CRM status
    update and a change made at the desk (``gateway tickets status --notify``) send."""
    found = catalogue.code(code)
    label = (found.labels.get(language) or found.labels.get("en") or category) if found else category
    values = {
        "ref": ref,
        "label": label,
        "status": catalogue.status_label(status, language),
        "account": account or "",
        "code": code,
    }
    return render_reply(catalogue, catalogue.update_reply(status), language, values)


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


def oversized(catalogue: Catalogue, max_parts: int) -> list[str]:
    """Replies that render to more than ``max_parts`` SMS parts with long but plausible
    values (a 10-character ref, a 10-digit account, the longest label), counted the way
    the network bills them."""
    problems = []
    for name, texts in sorted(catalogue.replies.items()):
        if name == "menu_line":
            continue  # a piece of the help reply, measured there
        for lang in sorted(texts):
            labels = [c.labels.get(lang, "") for c in catalogue.codes]
            statuses = [t.get(lang, "") for t in catalogue.statuses.values()]
            values = {
                "ref": "123-0000001",
                "account": "1234567890",
                "code": "4",
                "label": max(labels, key=len, default=""),
                "status": max(statuses, key=len, default=""),
                "opened": "1405/09/02 14:05",
                "area": "North dist",  # a known outage's (gateway.outages): an area, a time today
                "since": "14:05",
                "eta": "18:00",
            }
            try:
                parts = count_parts(render_reply(catalogue, name, lang, values))
            except EncodeError as exc:
                problems.append(f"{catalogue.path}: replies.{name}.{lang}: {exc}")
                continue
            if parts > max_parts:
                problems.append(
                    f"{catalogue.path}: replies.{name}.{lang} takes {parts} SMS parts with long values "
                    f"(limit {max_parts}, [conversation] reply_max_parts): shorten it"
                )
    return problems
