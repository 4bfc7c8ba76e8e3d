"""Reading a CAP 1.2 document (OASIS Common Alerting Protocol 1.2, 2010) and checking it
against the standard's rules, in our own code: which elements are required, in what order,
how often, their allowed values, and their dates. :func:`read` gives an
:class:`~gateway.cap.document.Alert` or raises :class:`~gateway.exceptions.CapRefused`
naming the first problem (element path and what is wrong).

The XML is parsed with defusedxml: no DTD, no entity expansion, no external entities, so a
document cannot make the gateway fetch a URL or expand a billion laughs. A document is at most
:data:`MAX_BYTES`.

Beyond the schema, the standard's own words are checked where they decide what we do:
``identifier`` and ``sender`` are non-empty and hold no space, comma, ``<`` or ``&``;
``<references>`` is ``sender,identifier,sent`` triples; a Restricted alert has
``<restriction>``, a Private one ``<addresses>``; ``<ceiling>`` needs ``<altitude>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.cap.document import DEFAULT_LANGUAGE, NAMESPACE, Alert, Area, Info, Reference
from gateway.exceptions import CapRefused

MAX_BYTES = 256 * 1024  # a CAP alert with several languages and a signature is a few kB
DSIG = "http://www.w3.org/2000/09/xmldsig#"  # enveloped signatures may follow the <info> blocks
_NS = f"{{{NAMESPACE}}}"

STATUS = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPE = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPE = ("Public", "Restricted", "Private")
CATEGORY = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
            "CBRNE", "Other")  # fmt: skip
RESPONSE_TYPE = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# CAP 1.2 3.3.2: "2002-05-24T16:49:00-07:00"; an explicit offset, "-00:00" for UTC, no "Z", no fraction
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
_LANGUAGE = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")  # RFC 3066, as xs:language
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_NOT_IN_ID = re.compile(r"[\s,<&]")


@dataclass(frozen=True)
class Slot:
    """One element of a CAP sequence: its name, how often it may come, and how to read it (a
    check of its text, or the slots of its own children)."""

    name: str
    least: int = 1
    most: int | None = 1  # None: any number
    text: Callable[[str, str], object] | None = None
    children: tuple[Slot, ...] = ()


def _string(value: str, where: str) -> str:
    return value


def _one_of(*allowed: str) -> Callable[[str, str], str]:
    def check(value: str, where: str) -> str:
        if value not in allowed:
            raise CapRefused(f"{where} is {value!r}: CAP 1.2 allows {', '.join(allowed)}")
        return value

    return check


def read_time(value: str, where: str) -> datetime:
    if not _DATE.fullmatch(value):
        raise CapRefused(f"{where} is {value!r}: CAP 1.2 writes times as 2026-12-02T14:05:00+03:30 (an offset, no Z)")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CapRefused(f"{where} is {value!r}: not a real date and time") from None


def _language(value: str, where: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise CapRefused(f"{where} is {value!r}: not a language code (RFC 3066, e.g. fa-IR)")
    return value


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str, str], str]:
    def check(value: str, where: str) -> str:
        if not regex.fullmatch(value.strip()):
            raise CapRefused(f"{where} is {value!r}: not {what}")
        return value

    return check


def _name(value: str, where: str) -> str:
    if not value or _NOT_IN_ID.search(value):
        raise CapRefused(f"{where} is {value!r}: CAP 1.2 needs one with no spaces, commas, < or &")
    return value


def _pair(name: str, least: int = 0) -> Slot:
    return Slot(name, least, None, children=(Slot("valueName", text=_string), Slot("value", text=_string)))


AREA = (
    Slot("areaDesc", text=_string),
    Slot("polygon", 0, None, _string),
    Slot("circle", 0, None, _string),
    _pair("geocode"),
    Slot("altitude", 0, 1, _pattern(_DECIMAL, "a decimal number")),
    Slot("ceiling", 0, 1, _pattern(_DECIMAL, "a decimal number")),
)
RESOURCE = (
    Slot("resourceDesc", text=_string),
    Slot("mimeType", text=_string),
    Slot("size", 0, 1, _pattern(_INTEGER, "an integer")),
    Slot("uri", 0, 1, _string),
    Slot("derefUri", 0, 1, _string),
    Slot("digest", 0, 1, _string),
)
INFO = (
    Slot("language", 0, 1, _language),
    Slot("category", 1, None, _one_of(*CATEGORY)),
    Slot("event", text=_string),
    Slot("responseType", 0, None, _one_of(*RESPONSE_TYPE)),
    Slot("urgency", text=_one_of(*URGENCY)),
    Slot("severity", text=_one_of(*SEVERITY)),
    Slot("certainty", text=_one_of(*CERTAINTY)),
    Slot("audience", 0, 1, _string),
    _pair("eventCode"),
    Slot("effective", 0, 1, read_time),
    Slot("onset", 0, 1, read_time),
    Slot("expires", 0, 1, read_time),
    Slot("senderName", 0, 1, _string),
    Slot("headline", 0, 1, _string),
    Slot("description", 0, 1, _string),
    Slot("instruction", 0, 1, _string),
    Slot("web", 0, 1, _string),
    Slot("contact", 0, 1, _string),
    _pair("parameter"),
    Slot("resource", 0, None, children=RESOURCE),
    Slot("area", 0, None, children=AREA),
)
ALERT = (
    Slot("identifier", text=_name),
    Slot("sender", text=_name),
    Slot("sent", text=read_time),
    Slot("status", text=_one_of(*STATUS)),
    Slot("msgType", text=_one_of(*MSG_TYPE)),
    Slot("source", 0, 1, _string),
    Slot("scope", text=_one_of(*SCOPE)),
    Slot("restriction", 0, 1, _string),
    Slot("addresses", 0, 1, _string),
    Slot("code", 0, None, _string),
    Slot("note", 0, 1, _string),
    Slot("references", 0, 1, _string),
    Slot("incidents", 0, 1, _string),
    Slot("info", 0, None, children=INFO),
)

# what a checked element is read into: its name -> list of values (text slots: the checked
# value; element slots: a dict of the same shape)
Values = dict[str, list[Any]]


def read(raw: bytes) -> Alert:
    """The CAP 1.2 alert in ``raw``; :class:`CapRefused` naming the first problem."""
    if len(raw) > MAX_BYTES:
        raise CapRefused(f"the document is {len(raw)} bytes: at most {MAX_BYTES} (a CAP alert is a few kB)")
    root = _parse(raw)
    if root.tag != f"{_NS}alert":
        namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        if local == "alert" and namespace.startswith("urn:oasis:names:tc:emergency:cap:"):
            raise CapRefused(f"this is CAP {namespace.rsplit(':', 1)[-1]} ({namespace}): only CAP 1.2 is taken")
        raise CapRefused(f"the root element is <{local}> in {namespace or 'no namespace'!r}: a CAP 1.2 document is "
                         f"<alert xmlns=\"{NAMESPACE}\">")  # fmt: skip
    values = _check(root, ALERT, "alert", trailing=DSIG)
    alert = _alert(values)
    _standard(alert, values)
    return alert


def _parse(raw: bytes) -> Any:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CapRefused(f"the document declares a DTD or entities ({type(exc).__name__}): refused as unsafe") from None
    except ParseError as exc:
        raise CapRefused(f"not well-formed XML: {exc}") from None


def _local(element: Any, where: str) -> str:
    tag = str(element.tag)
    if not tag.startswith(_NS):
        raise CapRefused(f"{where}: <{tag}> is not a CAP 1.2 element (namespace {NAMESPACE})")
    return tag[len(_NS) :]


def _check(element: Any, slots: tuple[Slot, ...], where: str, trailing: str | None = None) -> Values:
    """``element``'s children against ``slots``, in order; their values by name."""
    children = list(element)
    if (element.text or "").strip():
        raise CapRefused(f"{where} holds text outside its elements: {element.text.strip()[:40]!r}")
    values: Values = {}
    n = 0
    for slot in slots:
        found: list[Any] = []
        while n < len(children) and str(children[n].tag) == f"{_NS}{slot.name}":
            here = f"{where}/{slot.name}"
            if slot.most is not None and len(found) >= slot.most:
                raise CapRefused(f"{here} comes more than once: CAP 1.2 allows one")
            found.append(_value(children[n], slot, here))
            n += 1
        if len(found) < slot.least:
            after = f" (found <{_tag_name(children[n])}> there)" if n < len(children) else ""
            raise CapRefused(f"{where}/{slot.name} is required and missing, or out of order{after}")
        values[slot.name] = found
    for child in children[n:]:
        if trailing and str(child.tag).startswith(f"{{{trailing}}}"):
            continue  # an XML signature, which the schema allows at the end of <alert>
        name = _tag_name(child)
        known = [s.name for s in slots]
        if name in known:
            raise CapRefused(f"{where}/{name} is out of order: CAP 1.2 puts them as {', '.join(known)}")
        raise CapRefused(f"{where}: <{name}> is not a CAP 1.2 element here (allowed: {', '.join(known)})")
    return values


def _tag_name(element: Any) -> str:
    tag = str(element.tag)
    return tag[len(_NS) :] if tag.startswith(_NS) else tag


def _value(element: Any, slot: Slot, where: str) -> Any:
    for name in element.attrib:
        if not str(name).startswith("{"):
            raise CapRefused(f"{where} has the attribute {name!r}: CAP 1.2 elements have none")
    if slot.children:
        return _check(element, slot.children, where)
    if len(element):
        raise CapRefused(f"{where} holds <{_tag_name(element[0])}>: it takes text only")
    assert slot.text is not None
    return slot.text(element.text or "", where)


def _one(values: Values, name: str, default: Any = "") -> Any:
    found = values.get(name) or []
    return found[0] if found else default


def _pairs(values: Values, name: str) -> tuple[tuple[str, str], ...]:
    return tuple((_one(v, "valueName"), _one(v, "value")) for v in values.get(name, []))


def _alert(values: Values) -> Alert:
    return Alert(
        identifier=_one(values, "identifier"),
        sender=_one(values, "sender"),
        sent=_one(values, "sent"),
        status=_one(values, "status"),
        msg_type=_one(values, "msgType"),
        scope=_one(values, "scope"),
        source=_one(values, "source"),
        note=_one(values, "note"),
        references=_references(_one(values, "references")),
        incidents=_one(values, "incidents"),
        infos=tuple(_info(v) for v in values.get("info", [])),
    )


def _info(values: Values) -> Info:
    return Info(
        language=_one(values, "language") or DEFAULT_LANGUAGE,
        categories=tuple(values.get("category", [])),
        event=_one(values, "event"),
        urgency=_one(values, "urgency"),
        severity=_one(values, "severity"),
        certainty=_one(values, "certainty"),
        response_types=tuple(values.get("responseType", [])),
        effective=_one(values, "effective", None),
        onset=_one(values, "onset", None),
        expires=_one(values, "expires", None),
        sender_name=_one(values, "senderName").strip(),
        headline=_one(values, "headline").strip(),
        description=_one(values, "description").strip(),
        instruction=_one(values, "instruction").strip(),
        web=_one(values, "web").strip(),
        parameters=_pairs(values, "parameter"),
        areas=tuple(Area(_one(a, "areaDesc").strip(), _pairs(a, "geocode")) for a in values.get("area", [])),
    )


def _references(text: str) -> tuple[Reference, ...]:
    out = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3:
            raise CapRefused(f"alert/references has {item!r}: CAP 1.2 writes each as sender,identifier,sent")
        sender, identifier, sent = parts
        out.append(Reference(_name(sender, "a reference's sender"), _name(identifier, "a reference's identifier"),
                             read_time(sent, "a reference's sent")))  # fmt: skip
    return tuple(out)


def _standard(alert: Alert, values: Values) -> None:
    """The standard's rules that the schema does not hold."""
    if alert.scope == "Restricted" and not _one(values, "restriction").strip():
        raise CapRefused("alert/restriction is required when scope is Restricted")
    if alert.scope == "Private" and not _one(values, "addresses").strip():
        raise CapRefused("alert/addresses is required when scope is Private")
    for n, info in enumerate(values.get("info", []), start=1):
        for area in info.get("area", []):
            if area.get("ceiling") and not area.get("altitude"):
                raise CapRefused(f"alert/info[{n}]/area/ceiling needs an altitude before it")
