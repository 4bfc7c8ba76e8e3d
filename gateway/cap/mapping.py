"""What a CAP 1.2 alert means for our outages (pure): :func:`plan` turns an
:class:`~gateway.cap.document.Alert` into a :class:`CapPlan` or refuses it with the reason.

* ``msgType`` Alert declares an outage, Update updates the one its ``<references>`` name,
  Cancel cancels it; Ack and Error, and status System and Draft, are not for us.
* Our areas: every ``<area><areaDesc>`` of every ``<info>``, through ``[cap] areas``.
* The estimated restoration: a ``<parameter>`` named ``ETR`` (a CAP time) when present, else
  ``<expires>``; the first ``<info>`` that has one.
* Each of our languages (fa, ar, en) takes the ``<info>`` in it (``fa-IR`` is fa): its headline
  and instruction go to the public copy, its event is the outage's cause. The SMS is always our
  approved notice, its ``{area}`` our areas' names; the description goes nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.cap.document import Alert, Info, Reference
from gateway.cap.rules import read_time
from gateway.exceptions import CapRefused

ACTIONS = {"Alert": "declare", "Update": "update", "Cancel": "cancel"}
ETR = "ETR"  # the <parameter> that carries the estimated restoration


@dataclass(frozen=True)
class Words:
    """One language's words of an alert: what fills the notice and what the public copy shows."""

    area: str = ""  # the authority's name of the area in this language (shown, not sent)
    headline: str = ""
    instruction: str = ""
    event: str = ""


@dataclass(frozen=True)
class CapPlan:
    action: str  # declare | update | cancel
    areas: tuple[str, ...] = ()  # ours
    eta: datetime | None = None
    expires: datetime | None = None
    words: dict[str, Words] = field(default_factory=dict)  # our language -> its words
    references: tuple[Reference, ...] = ()
    dry_run: bool = False
    notify: bool = True

    @property
    def cause(self) -> str:
        """The outage's cause: the alert's event, in English where it has English."""
        for language in ("en", *self.words):
            if language in self.words and self.words[language].event:
                return self.words[language].event
        return ""

    @property
    def public(self) -> dict[str, dict[str, str]]:
        """Headline and instruction per language, for the public copy."""
        return {lang: {"headline": w.headline, "instruction": w.instruction}
                for lang, w in self.words.items() if w.headline or w.instruction}  # fmt: skip


def plan(alert: Alert, areas: Mapping[str, str], languages: Sequence[str], *, notify: bool, now: datetime) -> CapPlan:
    """What ``alert`` asks of us, with ``areas`` the ``[cap] areas`` table; :class:`CapRefused`
    when it is not for us (its reason names the element and the setting to change)."""
    if alert.status not in ("Actual", "Test", "Exercise"):
        raise CapRefused(f"alert/status is {alert.status}: only Actual (acted on), Test and Exercise (dry run) are")
    action = ACTIONS.get(alert.msg_type)
    if action is None:
        raise CapRefused(f"alert/msgType is {alert.msg_type}: only Alert, Update and Cancel drive outages")
    if alert.scope != "Public":
        raise CapRefused(f"alert/scope is {alert.scope}: only Public alerts are sent on to customers")
    dry_run = alert.rehearsal
    if action != "declare" and not alert.references:
        raise CapRefused(f"an {alert.msg_type} needs <references> naming the alert it changes")
    if action == "cancel":
        return CapPlan("cancel", references=alert.references, dry_run=dry_run, notify=False)
    if not alert.infos:
        raise CapRefused(f"an {alert.msg_type} needs an <info> (its event, areas and words)")
    ours = _our_areas(alert.infos, areas)
    expires = next((i.expires for i in alert.infos if i.expires), None)
    if expires is not None and expires <= now and not dry_run:
        raise CapRefused(f"alert/info/expires is {expires.isoformat()}: the alert has expired, nothing to send")
    eta = _eta(alert.infos)
    words = {}
    for language in languages:
        info = next((i for i in alert.infos if i.base_language == language), None)
        if info is not None:
            desc = next((a.desc for a in info.areas if _key(a.desc) in {_key(k) for k in areas}), "")
            words[language] = Words(desc, info.headline, info.instruction, info.event)
    if not words:  # no info in any of our languages: the first one's words, for the public copy
        first = alert.infos[0]
        words["en"] = Words("", first.headline, first.instruction, first.event)
        words = {k: v for k, v in words.items() if k in languages} or words
    return CapPlan(action, ours, eta, expires, words, alert.references, dry_run, notify)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _our_areas(infos: Sequence[Info], areas: Mapping[str, str]) -> tuple[str, ...]:
    table = {_key(desc): ours for desc, ours in areas.items()}
    found: list[str] = []
    named: list[str] = []
    for info in infos:
        for area in info.areas:
            named.append(area.desc)
            ours = table.get(_key(area.desc))
            if ours and ours not in found:
                found.append(ours)
    if not found:
        shown = ", ".join(repr(d) for d in dict.fromkeys(named)) or "none"
        raise CapRefused(f"not for us: no <areaDesc> of this alert is in [cap] areas (it names {shown[:300]}); "
                         'map the ones you serve, e.g. [cap] areas = { "Tehran - North" = "North" }')  # fmt: skip
    return tuple(found)


def _eta(infos: Sequence[Info]) -> datetime | None:
    for info in infos:
        value = info.parameter(ETR)
        if value is not None:
            return read_time(value.strip(), f"alert/info/parameter {ETR}")
    return next((i.expires for i in infos if i.expires), None)
