"""Estimated restoration times (ETR) as operators give them (pure).

``"18:00"`` is the next 18:00 in the site's time zone (tomorrow's when today's has passed);
``"2026-12-03 09:00"`` a local date and time. Digits may be in any script. A time in the past
is refused. The ETR is kept as an aware UTC timestamp; customers read it through
:func:`gateway.conversation.outages.format_eta`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.config.reader import ascii_digits
from gateway.exceptions import OutageError, Wording

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_DATE_CLOCK = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})")
HOW = '"18:00" (the next 18:00) or "2026-12-03 09:00" (local date and time)'


def parse_eta(value: str | datetime | None, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The ETR ``value`` means at ``now`` in ``tz``, as UTC; None stays None (not known).
    A datetime without a zone is local. Raises :class:`OutageError` naming ``eta``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=tz)
    else:
        text = ascii_digits(value).strip()
        if m := _CLOCK.fullmatch(text):
            at = _next_clock(int(m[1]), int(m[2]), now, tz, value)
        elif m := _DATE_CLOCK.fullmatch(text):
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
                at = datetime.combine(day, _clock(int(m[4]), int(m[5]), value), tz)
            except ValueError:
                raise _error(value, "is not a date") from None
        else:
            raise _error(value, "is not a time")
    if at <= now:
        shown = at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        raise OutageError(Wording("{eta} {shown} is in the past: give a time to come", {"eta": "eta", "shown": shown}))
    return at.astimezone(UTC)


def _next_clock(hour: int, minute: int, now: datetime, tz: ZoneInfo, value: str) -> datetime:
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), _clock(hour, minute, value), tz)
    if at <= now:
        at = datetime.combine(local.date() + timedelta(days=1), _clock(hour, minute, value), tz)
    return at


def _clock(hour: int, minute: int, value: str) -> time:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _error(value, "is not a time of day")
    return time(hour, minute)


def _error(value: str, problem: str) -> OutageError:
    return OutageError(Wording("{eta} {value} " + problem + ": give " + HOW, {"eta": "eta", "value": repr(value)}))


def local_text(at: datetime | str | None, tz: ZoneInfo) -> str | None:
    """A stored time as the site reads it: ``2026-12-03 09:00``."""
    if not at:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")
