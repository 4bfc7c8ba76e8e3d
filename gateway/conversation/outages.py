"""What the conversation says about a known outage (pure): which area a report is in, and an
estimated restoration (ETR) as the customer reads it.

A report's area is its contact's (by phone, else by account), else the ``[areas]`` rule whose
account prefix is the longest match. An ETR is stored as a UTC timestamp and shown in the
site's local time: the time alone when it is today there, else the date too, in the reader's
calendar (Persian for fa) and digits.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from gateway.conversation.text import localise_digits

UNKNOWN_ETA = {"fa": "نامعلوم", "ar": "غير معروف", "en": "not known yet"}


def area_by_account(account: str | None, rules: Mapping[str, Sequence[str]]) -> str | None:
    """The area whose account prefix (``[areas]``) is the longest that ``account`` starts with."""
    if not account:
        return None
    best: tuple[int, str] | None = None
    for area, prefixes in rules.items():
        for prefix in prefixes:
            if account.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), area)
    return best[1] if best else None


def report_areas(contact_areas: Sequence[str], account: str | None, rules: Mapping[str, Sequence[str]]) -> list[str]:
    """The areas a report is in: its contacts' (by phone, then by account), else the rule's."""
    if contact_areas:
        return list(contact_areas)
    area = area_by_account(account, rules)
    return [area] if area else []


def format_eta(at: datetime | None, tz: ZoneInfo, language: str, now: datetime) -> str:
    """``at`` as the customer reads it: ``18:00`` today (local), else with the date in their
    calendar (``09/13 09:00`` in Persian: month/day; with the year when it is half a year or more
    away); in their digits. None: "not known yet"."""
    if at is None:
        return UNKNOWN_ETA.get(language, UNKNOWN_ETA["en"])
    local = at.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        text = f"{local:%H:%M}"
    elif abs((local - now).days) < 180:  # a date this side of half a year: no year (an SMS is short)
        if language == "fa":
            j = jdatetime.date.fromgregorian(date=local.date())
            text = f"{j.month:02d}/{j.day:02d} {local:%H:%M}"
        elif language == "ar":
            text = f"{local:%d/%m %H:%M}"
        else:
            text = f"{local.day} {local:%b %H:%M}"
    elif language == "fa":
        j = jdatetime.date.fromgregorian(date=local.date())
        text = f"{j.year}/{j.month:02d}/{j.day:02d} {local:%H:%M}"
    elif language == "ar":
        text = f"{local:%d/%m/%Y %H:%M}"
    else:
        text = f"{local.day} {local:%b %Y %H:%M}"
    return localise_digits(text, language)


def suggest_areas(
    reports: Sequence[tuple[str, str | None, str | None]],
    by_phone: Mapping[str, str],
    by_account: Mapping[str, str],
    rules: Mapping[str, Sequence[str]],
    declared: Collection[str],
    threshold: int,
) -> dict[str, int]:
    """The early warning: areas without a declared outage (not in ``declared``) from which at
    least ``threshold`` distinct phones reported, from ``reports`` (phone, account, linked outage
    or None; linked ones are known already). A report's area is its contact's by phone, else by
    account, else the ``[areas]`` rule. Returns area -> distinct phones, most first."""
    phones: dict[str, set[str]] = {}
    for phone, account, linked in reports:
        if linked is not None:
            continue
        area = by_phone.get(phone) or (by_account.get(account) if account else None) or area_by_account(account, rules)
        if area is not None and area not in declared:
            phones.setdefault(area, set()).add(phone)
    found = {area: len(p) for area, p in phones.items() if len(p) >= threshold}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
