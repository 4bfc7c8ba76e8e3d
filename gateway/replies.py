"""Reply texts in the customer's language (pure): a template filled with safe values."""

from __future__ import annotations

from .catalogue import Catalogue
from .router import Decision
from .templates import render
from .text import localise_digits


def compose(catalogue: Catalogue, decision: Decision, *, ref: str | None = None) -> str | None:
    """The reply for ``decision`` (None when the gateway stays silent).

    Numbers are written in the customer's digits (۱۲-۰۰۰۳۴۵ for Persian,
    ١٢-٠٠٠٣٤٥ for Arabic). Only our own values are inserted; the customer's
    text never reaches a template.
    """
    if decision.reply is None:
        return None
    lang = decision.language
    if decision.action == "help":
        return render(catalogue.reply(decision.reply, lang), {"menu": catalogue.menu(lang)})
    code = next((c for c in catalogue.codes if c.code == decision.code), None)
    label = (code.labels.get(lang) or code.labels.get("en") or code.category or "") if code else ""
    values = {
        "ref": localise_digits(ref or "", lang),
        "label": label,
        "account": localise_digits(decision.account or "", lang),
        "code": localise_digits(decision.code or "", lang),
    }
    return render(catalogue.reply(decision.reply, lang), values)
