"""Broadcasts: plan one (audience, texts, SIM capacity, estimate) and create it, by a named
person, running at once or waiting for a second person's approval
(:mod:`gateway.broadcast.campaigns` lists, follows, pauses, resumes, cancels and approves them)."""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.broadcast.audience import check_audience, csv_recipients
from gateway.broadcast.campaigns import campaign_status as campaign_status  # its home before campaigns.py
from gateway.broadcast.campaigns import control as control  # callers of those days keep working
from gateway.broadcast.campaigns import local_user, publish
from gateway.broadcast.contacts import (
    RowProblem,
)
from gateway.broadcast.estimate import Estimate, SimCapacity, estimate
from gateway.broadcast.templates import Rendered, measure, notice, notices
from gateway.config import Config
from gateway.config.window import Window, parse_window
from gateway.conversation.phones import language_prefixes
from gateway.exceptions import BroadcastError, FieldError, MessageTooLong, Wording
from gateway.lockfile import holder_name
from gateway.outbound.operations import longest_message, too_long
from gateway.outbound.quotas import QuotaConfig, sim_limits
from gateway.store import (
    AudienceSpec,
    AudienceSummary,
    BroadcastPlanner,
    NewCampaign,
    stamp,
    utcnow,
)
from gateway.store.configured import open_store
from sim_bank.pdu import segment

MIN_EVERY = 300.0  # seconds between staged updates, at least
NOBODY = "nobody to send to: the audience is empty (after removing opted-out numbers)"
MAX_RUNS = 500
# a store's TEMP audience is one per connection: one plan-and-create at a time on a store
_AUDIENCE_TURNS: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class BroadcastRequest:
    template: str
    variables: dict[str, str]
    audience: AudienceSpec
    rate: int | None = None
    window: str | None = None
    every: timedelta | None = None
    until: datetime | None = None  # the last run at or before this moment (aware)
    times: int | None = None


@dataclass(frozen=True)
class BroadcastPlan:
    request: BroadcastRequest
    audience: AudienceSummary
    rendered: dict[str, Rendered]  # language -> the notice as sent
    runs: int
    sims: list[SimCapacity]
    estimate: Estimate
    window: Window | None
    skipped_rows: list[RowProblem]  # bad rows of the audience's CSV files
    ahead: int  # parts of other running campaigns that go first
    warnings: tuple[Wording, ...]
    # what create_broadcast writes
    notice: str
    texts: dict[str, str]  # language -> the notice as sent
    every_s: float | None  # seconds between runs
    until: datetime | None  # the last moment a run may start
    planned_at: datetime
    unsendable: tuple[str, ...]  # why a text could never be sent: the campaign would be refused

    @property
    def recipients(self) -> int:
        return self.audience.recipients

    @property
    def parts_per_run(self) -> int:
        return sum(n * self.rendered[lang].parts for lang, n in self.audience.by_language.items())

    def as_json(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The plan as ``--json`` shows it; ``names``: how the face names request fields in warnings."""
        est = self.estimate
        return {
            "template": self.request.template,
            "variables": self.request.variables,
            "audience": self.request.audience.describe(),
            "recipients": self.recipients,
            "recipients_by_language": self.audience.by_language,
            "opted_out_excluded": self.audience.opted_out,
            "sources": self.audience.sources,
            "skipped_csv_rows": len(self.skipped_rows),
            "texts": {
                lang: {"text": r.text, "parts": r.parts, "encoding": r.encoding} for lang, r in self.rendered.items()
            },
            "parts_per_run": self.parts_per_run,
            "runs": self.runs,
            "parts_total": self.parts_per_run * self.runs,
            "sims": [
                {
                    "sim": s.modem_id,
                    "parts_for_this_run": est.per_sim.get(s.modem_id, 0),
                    "broadcast_left_today": s.left_today,
                    "broadcast_per_day": s.per_day,
                    "measured_parts_per_s": round(s.rate, 3) if s.rate else None,
                }
                for s in self.sims
            ],
            "rate_parts_per_s": round(est.rate, 3),
            "rate_measured": est.rate_measured,
            "window": str(self.window) if self.window else None,
            "rate_cap_per_minute": self.request.rate,
            "finish": est.finish.isoformat(timespec="minutes") if est.finish else None,
            "finishes_today": est.finishes_today,
            "parts_of_other_campaigns_ahead": self.ahead,
            "warnings": [w.naming(names) for w in self.warnings],
        }


async def plan_broadcast(
    store: BroadcastPlanner,
    config: Config,
    request: BroadcastRequest,
    now: datetime | None = None,
    extra: Sequence[tuple[str, str | None]] = (),
) -> BroadcastPlan:
    """What ``request`` would send, to whom, on which SIMs and by when -- the dry run. The
    audience is gathered on ``store``'s connection: :func:`create_broadcast` on the same
    store creates the campaign from it (after the operator saw the plan and agreed).
    ``extra``: more recipients (phone, language or None), e.g. an outage's reporters."""
    tz = ZoneInfo(config.site.timezone)
    now = now or utcnow()
    n = notice(notices(config), request.template)
    unknown = {k.split(".", 1)[0] for k in request.variables} - set(n.variables)
    unknown |= {k for k in request.variables if "." in k and k.split(".", 1)[1] not in n.texts}
    if unknown:
        raise BroadcastError(
            f"notice {n.name!r} has no variable {sorted(unknown)[0]!r} (it uses {', '.join(n.variables) or 'none'})"
        )
    texts = n.render_all(request.variables)
    window_text = request.window if request.window is not None else (config.broadcast.window or None)
    try:
        window = parse_window(window_text) if window_text else None
    except ValueError as exc:
        raise BroadcastError(str(exc)) from None
    runs, every_s = _runs(request, now)
    if request.rate is not None and request.rate < 1:
        raise FieldError("{rate} must be at least 1 message a minute", rate="rate")
    skipped: list[RowProblem] = []
    await check_audience(store, config, request.audience)
    summary = await store.build_audience(
        request.audience, itertools.chain(csv_recipients(request.audience.files, config, skipped), extra),
        default_language=config.site.language, prefixes=language_prefixes(),
    )  # fmt: skip
    rendered = {lang: measure(lang, texts[lang]) for lang in texts}
    sims = await sim_capacities(store, config, now)
    messages = summary.recipients
    ahead = await store.parts_waiting() if messages else 0  # nobody to send to: nothing waits for others
    parts = sum(cnt * rendered[lang].parts for lang, cnt in summary.by_language.items())
    est = estimate(parts + ahead, messages, sims, now.astimezone(tz), window=window, rate_cap=request.rate)
    warnings = []
    if runs > 1 and every_s and est.finish is not None and (est.finish - now).total_seconds() > every_s:
        warnings.append(Wording(
            "one run takes longer than {every}: a new run starts before the last one is out "
            "(those still waiting keep their place; nobody gets a run twice before everyone got one)",
            {"every": "every"},
        ))  # fmt: skip
    if runs > 1 and every_s and est.finish is None:
        warnings.append(Wording("one run cannot finish within a year at these quotas"))
    unsendable = [
        reason
        for lang in sorted(rendered)
        if summary.by_language.get(lang) or not messages
        if (reason := too_long(config, segment(texts[lang]), f"the {lang} text of notice {n.name!r}", "broadcast"))
    ]
    warnings += [Wording(f"{reason}: no SIM could send it, the campaign would be refused") for reason in unsendable]
    return BroadcastPlan(
        request, summary, rendered, runs, sims, est, window, skipped, ahead, tuple(warnings),
        notice=n.name, texts=texts, every_s=every_s, until=request.until if request.times is None else None,
        planned_at=now, unsendable=tuple(unsendable),
    )  # fmt: skip


def refuse_unsendable(config: Config, plan: BroadcastPlan) -> None:
    """Raise :class:`MessageTooLong` when a text of ``plan`` could never be sent: such a
    campaign is refused before the operator is asked and before anything is queued."""
    if plan.unsendable:
        limit = longest_message(config, "broadcast")[0]
        parts = max(r.parts for r in plan.rendered.values())
        raise MessageTooLong(f"{plan.unsendable[0]}; nothing was queued", parts, limit)


async def create_broadcast(
    store: BroadcastPlanner,
    config: Config,
    plan: BroadcastPlan,
    *,
    created_by: str,
    approval: bool = False,
    on_progress: Callable[[int], None] = lambda _n: None,
) -> tuple[int, str | None]:
    """Create the campaign ``plan`` describes, from the audience :func:`plan_broadcast`
    gathered on ``store``, as made by ``created_by`` (audited), and write the public copy.
    With ``approval`` it waits as ``pending_approval`` (and stays out of the public copy)
    until another person approves it. Returns the campaign id and a warning when the public
    copy could not be written (the campaign is made: never retry it)."""
    refuse_unsendable(config, plan)
    if not plan.recipients:
        raise BroadcastError(NOBODY)
    request = plan.request
    campaign_id = await store.create_campaign(
        NewCampaign(
            template=plan.notice,
            variables=dict(request.variables),
            texts=dict(plan.texts),
            parts={lang: r.parts for lang, r in plan.rendered.items()},
            audience=request.audience.describe(),
            rate=request.rate,
            window=str(plan.window) if plan.window else None,
            every_s=plan.every_s,
            runs_total=plan.runs,
            until_at=plan.until,
            opted_out=plan.audience.opted_out,
            creator=holder_name("broadcast"),
            created_by=created_by,
            approval=approval,
        ),
        now=plan.planned_at,
        on_progress=on_progress,
    )
    return campaign_id, await publish(store, config)


async def submit(
    store: BroadcastPlanner,
    config: Config,
    request: BroadcastRequest,
    *,
    created_by: str,
    approval: bool,
    dry_run: bool,
    extra: Sequence[tuple[str, str | None]] = (),
    texts: Callable[[BroadcastPlan], BroadcastPlan] | None = None,
) -> tuple[BroadcastPlan, int | None, str | None]:
    """Plan ``request`` and, unless ``dry_run``, create it at once as ``created_by`` (the
    API: its caller saw a plan already, or asked for none). One at a time on ``store``:
    concurrent requests would share its connection's TEMP audience. Returns the plan, the
    campaign id (None for a dry run) and the public copy's warning. ``extra``: more recipients
    (:func:`plan_broadcast`); ``texts``: the plan as sent, given the plan (an outage's
    restoration check riding in the notice)."""
    turn = _AUDIENCE_TURNS.setdefault(store, asyncio.Lock())
    async with turn:
        plan = await plan_broadcast(store, config, request, extra=extra)
        if texts is not None:
            plan = texts(plan)
        if dry_run:
            return plan, None, None
        campaign_id, warning = await create_broadcast(store, config, plan, created_by=created_by, approval=approval)
        return plan, campaign_id, warning


async def broadcast(
    config: Config,
    request: BroadcastRequest,
    *,
    dry_run: bool,
    on_progress: Callable[[int], None] = lambda _n: None,
    now: datetime | None = None,
    created_by: str | None = None,
) -> tuple[BroadcastPlan, int | None, str | None]:
    """Plan a broadcast and, unless ``dry_run``, create it without asking anyone (the demo,
    scripts; the CLI asks between :func:`plan_broadcast` and :func:`create_broadcast`), as
    made by ``created_by`` (the login name when None). Returns the plan, the campaign id
    (None for a dry run) and the public copy's warning."""
    store = await open_store(config, create=True)
    try:
        plan = await plan_broadcast(store, config, request, now)
        if dry_run:
            return plan, None, None
        campaign_id, warning = await create_broadcast(
            store, config, plan, created_by=created_by or local_user(), on_progress=on_progress
        )
        return plan, campaign_id, warning
    finally:
        await store.close()


def _runs(request: BroadcastRequest, now: datetime) -> tuple[int, float | None]:
    """(runs, seconds between runs)."""
    if request.every is None:
        if request.until is not None or request.times:
            raise FieldError("{until} and {times} need {every} (how often to send the update)",
                             until="until", times="times", every="every")  # fmt: skip
        return 1, None
    every = request.every.total_seconds()
    if every < MIN_EVERY:
        raise FieldError(f"{{every}} must be at least {MIN_EVERY / 60:g} minutes", every="every")
    if (request.until is None) == (request.times is None):
        raise FieldError("with {every}, give {until} TIME or {times} N (when to stop)",
                         every="every", until="until", times="times")  # fmt: skip
    if request.times is not None:
        runs = request.times
    else:
        assert request.until is not None
        if request.until <= now:
            raise FieldError("{until} {until_value} is in the past", until="until",
                             until_value=request.until.isoformat(sep=" ", timespec="minutes"))  # fmt: skip
        runs = 1 + int((request.until - now).total_seconds() // every)
    if not 1 <= runs <= MAX_RUNS:
        raise BroadcastError(f"{runs} runs: a campaign has 1 to {MAX_RUNS}")
    return runs, every


async def sim_capacities(store: BroadcastPlanner, config: Config, now: datetime) -> list[SimCapacity]:
    """What each SIM may still send for broadcasts today, and on a fresh day; its measured rate."""
    tz = ZoneInfo(config.site.timezone)
    usage = await store.usage_on(now.astimezone(tz).date().isoformat())
    rates = await store.measured_rates(now - timedelta(hours=1))
    limits = sim_limits(config)
    if not limits:  # a simulated bank, or a config without [[modems]]: the SIMs the daemon reported
        q = config.quotas
        limits = {
            r.modem_id: QuotaConfig(q.per_minute, r.per_day or q.per_day, q.reply_reserve)
            for r in await store.sim_statuses()
        }
    statuses = {r.modem_id: r for r in await store.sim_statuses()}
    fresh = stamp(now - timedelta(minutes=10))
    out = []
    for modem_id, limit in limits.items():
        status = statuses.get(modem_id)
        if status is not None and status.updated_at >= fresh and status.state in ("down", "quarantined"):
            continue  # the daemon says it cannot send now: do not count on it
        per_day = limit.per_day - limit.reserve
        used = sum(usage.get(modem_id, {}).values())
        left = max(0, per_day - used)
        out.append(SimCapacity(modem_id, limit.minute_limit("broadcast"), left, per_day, rates.get(modem_id)))
    return out
