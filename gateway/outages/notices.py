"""The notices of an outage's stages, sent as campaigns (:mod:`gateway.broadcast`): the approved
templates ``outage`` (declared), ``update`` and ``restored`` (restored, cancelled), with the dry
run, quotas, reply reserve and public copy every broadcast has.

Who gets a stage: the contacts of the outage's areas, and -- after it was declared -- everyone
whose report is linked to it; once each (the audience is de-duplicated by phone), numbers that
sent STOP left out. The ``area`` variable is the outage's areas as written; ``eta`` is the ETR in
each reader's digits and calendar (``eta.fa``, ``eta.ar``, ``eta.en``). The restoration check
(the ``check`` notice, "reply 1 if you still have no service") rides in the restored notice
when, in every language the audience reads, both fit ``[conversation] reply_max_parts``; else it
follows as a second campaign to the same people.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from gateway.broadcast.operations import BroadcastPlan, BroadcastRequest, submit
from gateway.broadcast.templates import measure, notice, notices
from gateway.config import LANGUAGES, Config
from gateway.conversation.outages import format_eta
from gateway.exceptions import NoticeError, OutageError, Wording
from gateway.store import AudienceSpec, BroadcastPlanner
from gateway.store.protocols_outages import OutageBook
from sim_bank.pdu import count_parts

TEMPLATES = {"declared": "outage", "update": "update", "restored": "restored", "cancelled": "restored"}
CHECK = "check"  # the notice asking "reply 1 if you still have no service"


class OutageStore(BroadcastPlanner, OutageBook, Protocol):
    """What the outage library uses: the outage records and the broadcast machinery."""


@dataclass(frozen=True)
class Notice:
    """One campaign a stage sends (or, in a dry run, would send)."""

    template: str
    plan: BroadcastPlan
    campaign_id: int | None
    with_check: bool = False  # the restoration check rides in this one

    def as_json(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "with_check": self.with_check, **self.plan.as_json(names)}


@dataclass(frozen=True)
class Stage:
    """What a stage's notice says and to whom."""

    kind: str  # declared | update | restored | cancelled
    areas: tuple[str, ...]
    eta_at: datetime | None
    reporters: tuple[tuple[str, str | None], ...] = ()  # (phone, language) of the linked reports
    check: bool = False


async def send_stage(
    store: OutageStore, config: Config, stage: Stage, *, actor: str, dry_run: bool, now: datetime,
    approval: bool = False,
) -> tuple[list[Notice], str | None]:  # fmt: skip
    """Plan (and unless ``dry_run`` create) the stage's campaign(s). Returns them (empty when
    nobody is to be told) and the public copy's warning. ``approval``: the campaigns wait for a
    second supervisor as a broadcast made through the API does (``[web] broadcast_approval``)."""
    areas = tuple([a for a in stage.areas if await store.count_contacts(None, a)])
    if not areas and not stage.reporters:
        return [], None
    template = TEMPLATES[stage.kind]
    variables = _variables(config, template, stage, now)
    request = BroadcastRequest(template, variables, AudienceSpec(areas=areas))
    combined: list[bool] = []
    check_texts = _check_texts(config) if stage.check else None

    def ride(plan: BroadcastPlan) -> BroadcastPlan:
        if check_texts is None:
            return plan
        texts = {lang: f"{text} {check_texts[lang]}" for lang, text in plan.texts.items()}
        readers = [lang for lang, n in plan.audience.by_language.items() if n]  # the languages it goes out in
        if any(count_parts(texts[lang]) > config.conversation.reply_max_parts for lang in readers if lang in texts):
            combined.append(False)
            return plan
        combined.append(True)
        rendered = {lang: measure(lang, t) for lang, t in texts.items()}
        return dataclasses.replace(plan, texts=texts, rendered=rendered)

    plan, campaign_id, warning = await submit(
        store,
        config,
        request,
        created_by=actor,
        approval=approval,
        dry_run=dry_run,
        extra=stage.reporters,
        texts=ride,
    )
    out = [Notice(template, plan, campaign_id, with_check=bool(combined and combined[0]))]
    if check_texts is not None and not out[0].with_check:
        second = BroadcastRequest(CHECK, {}, AudienceSpec(areas=areas))
        plan2, id2, warning2 = await submit(
            store, config, second, created_by=actor, approval=approval, dry_run=dry_run, extra=stage.reporters
        )
        out.append(Notice(CHECK, plan2, id2, with_check=True))
        warning = warning or warning2
    return out, warning


def _variables(config: Config, template: str, stage: Stage, now: datetime) -> dict[str, str]:
    tz = ZoneInfo(config.site.timezone)
    found = notice(notices(config), template)
    values = {"area": ", ".join(stage.areas)}
    if "eta" in found.variables:
        if stage.eta_at is None:
            raise OutageError(Wording(
                "the {template} notice gives the estimated restoration: give {eta}",
                {"template": repr(template), "eta": "an ETR (eta)"},
            ))  # fmt: skip
        values.update({f"eta.{lang}": format_eta(stage.eta_at, tz, lang, now) for lang in LANGUAGES})
    return values


def _check_texts(config: Config) -> dict[str, str]:
    try:
        found = notice(notices(config), CHECK)
    except NoticeError as exc:
        raise OutageError(
            f"the restoration check needs the notice {CHECK!r} in [broadcast] templates ({exc}): "
            "copy it from the shipped config/templates.toml"
        ) from None
    return found.render_all({})


def recipients(found: Sequence[Notice]) -> int:
    """People a stage told (the check's second message adds nobody new)."""
    return found[0].plan.recipients if found else 0
