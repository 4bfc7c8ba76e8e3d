"""Every notice of the public copy also as a CAP 1.2 alert and in an Atom feed (issue 16), so a
national alert hub or the website can carry the very words customers got by SMS.

Written with the public copy (:func:`gateway.broadcast.public_copy.write_public_copy`), under
``PUBLIC_DIR/cap/``: ``IDENTIFIER.xml`` per notice (schema-valid CAP 1.2: one ``<info>`` per
language, the SMS text as headline and description) and ``feed.atom`` (RFC 4287), newest first,
each entry linking its alert. A notice no longer in the public copy (cancelled before it went)
loses its file. The ingest side of CAP is :mod:`gateway.cap`; this is here because the public
copy is, and broadcast may not import what sits above it. docs/cap.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
FEED = "feed.atom"
HEADLINE_MAX = 160  # CAP 1.2: a headline should be short enough for a text message
# what each approved notice is, in CAP's words: event, responseType, urgency, severity
KINDS = {
    "outage": ("Power outage", "Monitor", "Immediate", "Moderate"),
    "update": ("Power outage update", "Monitor", "Immediate", "Moderate"),
    "restored": ("Power restored", "AllClear", "Past", "Minor"),
}
OTHER = ("Service notice", "Monitor", "Expected", "Minor")


def sender_of(site_name: str) -> str:
    """Our CAP sender: the site's name as a token (no spaces, commas, < or &)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", site_name).strip("-.")
    return f"sms-gateway.{slug}" if slug else "sms-gateway"


def identifier_of(sender: str, item: Mapping[str, Any]) -> str:
    return f"{sender}.notice-{item['id']}"


def cap_time(value: str | datetime) -> str:
    """A stored time as CAP 1.2 writes it: to the second, an offset, UTC as ``-00:00``."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    text = at.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00"


def alert_xml(item: Mapping[str, Any], sender: str, site_name: str) -> bytes:
    """One public-copy item (``id``, ``notice``, ``published_at``, ``texts``; ``headline`` and
    ``instruction`` by language when a CAP alert sent it; ``areas``) as a CAP 1.2 alert."""
    alert = ET.Element(f"{{{CAP}}}alert")
    for name, value in (("identifier", identifier_of(sender, item)), ("sender", sender),
                        ("sent", cap_time(item["published_at"])), ("status", "Actual"), ("msgType", "Alert"),
                        ("scope", "Public")):  # fmt: skip
        _text(alert, name, value)
    event, response, urgency, severity = KINDS.get(str(item.get("notice")), OTHER)
    for language, text in item["texts"].items():
        info = ET.SubElement(alert, f"{{{CAP}}}info")
        for name, value in (("language", language), ("category", "Infra"), ("event", event),
                            ("responseType", response), ("urgency", urgency), ("severity", severity),
                            ("certainty", "Observed")):  # fmt: skip
            _text(info, name, value)
        if site_name:
            _text(info, "senderName", site_name)
        _text(info, "headline", _headline(item.get("headline", {}).get(language) or text))
        _text(info, "description", text)
        if item.get("instruction", {}).get(language):  # a CAP alert's instruction, as it came
            _text(info, "instruction", item["instruction"][language])
        for area in item.get("areas") or ():
            _text(ET.SubElement(info, f"{{{CAP}}}area"), "areaDesc", str(area))
    return bytes(ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP)) + b"\n"


def feed_xml(items: Sequence[Mapping[str, Any]], sender: str, site_name: str) -> bytes:
    """The Atom feed of ``items`` (newest first), each entry linking ``IDENTIFIER.xml``."""
    feed = ET.Element("feed", {"xmlns": ATOM})  # plain names in the default namespace
    _atom(feed, "id", f"urn:{sender}:notices")
    _atom(feed, "title", site_name or "Service notices")
    stamps = [cap_time(i["published_at"]) for i in items]
    _atom(feed, "updated", _atom_time(max(stamps) if stamps else cap_time(datetime(1970, 1, 1, tzinfo=UTC))))
    _atom(ET.SubElement(feed, "author"), "name", site_name or sender)
    for item in items:
        identifier = identifier_of(sender, item)
        entry = ET.SubElement(feed, "entry")
        _atom(entry, "id", f"urn:{identifier}")
        texts = item["texts"]
        _atom(entry, "title", _headline(texts.get("en") or next(iter(texts.values()), "")))
        _atom(entry, "updated", _atom_time(cap_time(item["published_at"])))
        link = ET.SubElement(entry, "link")
        link.attrib.update({"rel": "alternate", "type": "application/cap+xml", "href": f"{identifier}.xml"})
        content = _atom(entry, "content", "\n\n".join(texts.values()))
        content.set("type", "text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True)) + b"\n"


def write_cap_copy(
    directory: Path, items: Sequence[Mapping[str, Any]], site_name: str, replace: Callable[[Path, str], None]
) -> list[Path]:
    """``directory/cap/IDENTIFIER.xml`` for each item and ``directory/cap/feed.atom``, each
    replaced atomically by ``replace``; an alert file of a notice no longer listed is removed."""
    folder = directory / "cap"
    folder.mkdir(parents=True, exist_ok=True)
    sender = sender_of(site_name)
    written = []
    for item in items:
        path = folder / f"{identifier_of(sender, item)}.xml"
        replace(path, alert_xml(item, sender, site_name).decode("utf-8"))
        written.append(path)
    for stale in folder.glob(f"{sender}.notice-*.xml"):
        if stale not in written:
            stale.unlink(missing_ok=True)
    feed = folder / FEED
    replace(feed, feed_xml(items, sender, site_name).decode("utf-8"))
    return [*written, feed]


def _headline(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= HEADLINE_MAX else line[: HEADLINE_MAX - 1] + "…"


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP}}}{name}")
    element.text = value
    return element


def _atom(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = value
    return element


def _atom_time(cap: str) -> str:
    return cap.removesuffix("-00:00") + "Z" if cap.endswith("-00:00") else cap
