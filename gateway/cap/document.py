"""A CAP 1.2 alert as plain data (pure): what :mod:`gateway.cap.rules` reads out of a document.

Only what the gateway uses is kept: who sent it and when (its identity), what kind of message
it is, what it refers to, and each ``<info>`` block's words, times, parameters and areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
DEFAULT_LANGUAGE = "en-US"  # CAP 1.2: an <info> without <language> is in en-US


@dataclass(frozen=True)
class Reference:
    """One ``sender,identifier,sent`` of ``<references>``: an earlier message this one refers to."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Area:
    desc: str
    geocodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: tuple[str, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()

    def parameter(self, name: str) -> str | None:
        """The value of the first ``<parameter>`` called ``name`` (case as written), or None."""
        return next((value for key, value in self.parameters if key == name), None)

    @property
    def base_language(self) -> str:
        """``fa`` of ``fa-IR``: the language without its region, lower case."""
        return self.language.split("-", 1)[0].lower()


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime  # with the document's offset
    status: str  # Actual | Exercise | System | Test | Draft
    msg_type: str  # Alert | Update | Cancel | Ack | Error
    scope: str  # Public | Restricted | Private
    source: str = ""
    note: str = ""
    references: tuple[Reference, ...] = ()
    incidents: str = ""
    infos: tuple[Info, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a message the same message (CAP 1.2: identifier, sender and sent), the
        time as a UTC instant so that ``-00:00`` and ``+00:00`` are one."""
        return self.identifier, self.sender, utc_text(self.sent)

    @property
    def rehearsal(self) -> bool:
        """A Test or Exercise: shown as a dry run, never acted on."""
        return self.status in ("Test", "Exercise")


def utc_text(at: datetime) -> str:
    """``at`` as the store keeps times: ISO 8601 in UTC, to the second."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def cap_time(at: datetime) -> str:
    """``at`` as CAP 1.2 writes times: ``2026-12-02T14:05:00+03:30``, UTC as ``-00:00``."""
    text = at.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text
