"""What the CLI does for contacts, notices and broadcasts, as library functions."""

from __future__ import annotations

import asyncio
import csv
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.broadcast.contacts import (
    Contact,
    LineTooLong,
    RowProblem,
    bounded_lines,
    duplicate,
    open_text,
    read_contacts,
)
from gateway.broadcast.estimate import Estimate, SimCapacity, estimate
from gateway.broadcast.public_copy import write_public_copy
from gateway.broadcast.templates import Notice, Rendered, load_notices, measure, notice
from gateway.config import Config
from gateway.config.window import Window, parse_window
from gateway.conversation.catalogue import load_catalogue
from gateway.exceptions import BroadcastError, ContactsFileError, MessageTooLong, NotFound
from gateway.lockfile import daemon_running, holder_name
from gateway.outbound.operations import longest_message, too_long
from gateway.store import AudienceSpec, AudienceSummary, CampaignRow, NewCampaign, Store, stamp, utcnow
from gateway.store.configured import open_store
from sim_bank import ModemConfig
from sim_bank.pdu import segment
from sim_bank.quotas import QuotaConfig

IMPORT_BATCH = 2000
KEEP_PROBLEMS = 1000  # bad rows listed in full; beyond, only counted
MIN_EVERY = 300.0  # seconds between staged updates, at least
MAX_RUNS = 500
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``2d`` (a bare number is minutes)."""
    m = _DURATION.match(text)
    if not m:
        raise BroadcastError(f"{text!r} is not a duration: write e.g. 30m, 6h or 2d")
    value, unit = float(m.group(1)), m.group(2) or "m"
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def parse_local_time(text: str, tz: ZoneInfo) -> datetime:
    """``2026-11-24 18:00`` in the site's time zone."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise BroadcastError(f"{text!r} is not a time: write YYYY-MM-DD HH:MM (site time)")


# ---------------------------------------------------------------- contacts


@dataclass
class ImportReport:
    rows: int = 0  # good rows: new + updated + duplicates
    new: int = 0
    updated: int = 0  # numbers known before this file
    problems: list[RowProblem] = field(default_factory=list)  # skipped rows (the first KEEP_PROBLEMS)
    problem_count: int = 0
    duplicates: list[RowProblem] = field(default_factory=list)  # rows repeating an earlier row's number
    duplicate_count: int = 0


async def import_contacts(
    config: Config,
    path: Path,
    group: str | None,
    *,
    on_size: Callable[[int], None] = lambda _n: None,
    on_progress: Callable[[int], None] = lambda _n: None,
    on_problem: Callable[[RowProblem], None] = lambda _p: None,
    on_duplicate: Callable[[RowProblem], None] = lambda _p: None,
) -> ImportReport:
    """Stream ``path`` into the contacts, ``IMPORT_BATCH`` rows a transaction. Bad rows are
    reported by line (every one to ``on_problem``; the first ``KEEP_PROBLEMS`` kept in the
    report) and skipped; a row with the number of an earlier row wins over it and is reported
    (``on_duplicate``, and counted apart: rows = new + updated + duplicates). A file that
    cannot be read at all raises; one that breaks off (not UTF-8, not CSV, a line longer than
    :data:`~gateway.broadcast.contacts.MAX_LINE`) raises after importing the good rows before it."""
    try:
        raw, text = open_text(str(path))
    except FileNotFoundError:
        raise ContactsFileError(f"{path}: no such file") from None
    except ContactsFileError as exc:
        raise ContactsFileError(f"{path}: {exc}") from None
    on_size(os.path.getsize(path))
    report = ImportReport()
    batch: list[Contact] = []
    # number -> the line it was last on: ~125 bytes a number (125 MB for a million distinct numbers)
    seen: dict[str, int] = {}
    again = 0  # rows of this batch whose number an earlier batch of this file had

    async def flush() -> None:
        nonlocal again
        new, updated = await store.upsert_contacts(batch, group)
        unique = len({c.phone for c in batch})
        report.new += new
        report.updated += updated - again  # a number from an earlier batch is a duplicate, not known before
        report.duplicate_count += len(batch) - unique + again
        again = 0
        batch.clear()
        on_progress(raw.tell())

    def note_duplicate(contact: Contact, earlier: int) -> None:
        row = duplicate(contact.phone, earlier, contact.line)
        on_duplicate(row)
        if len(report.duplicates) < KEEP_PROBLEMS:
            report.duplicates.append(row)

    store = await open_store(config, create=True)

    try:
        with text:
            try:
                for item in read_contacts(bounded_lines(text), config.site.region):
                    if isinstance(item, RowProblem):
                        report.problem_count += 1
                        on_problem(item)
                        if len(report.problems) < KEEP_PROBLEMS:
                            report.problems.append(item)
                        continue
                    report.rows += 1
                    earlier = seen.get(item.phone)
                    if earlier is not None:
                        note_duplicate(item, earlier)
                        if not any(c.phone == item.phone for c in batch):
                            again += 1  # counted "updated" by the store: undo that in flush()
                    seen[item.phone] = item.line
                    batch.append(item)
                    if len(batch) >= IMPORT_BATCH:
                        await flush()
            except (LineTooLong, UnicodeDecodeError, csv.Error) as exc:
                await flush()
                raise ContactsFileError(
                    f"{path}: stopped after {report.rows} good row(s) (those are imported): {exc} -- "
                    "save the file as UTF-8 CSV"
                ) from None
            except ContactsFileError as exc:
                raise ContactsFileError(f"{path}: {exc}") from None
            if batch:
                await flush()
    finally:
        await store.close()
    return report


async def list_contacts(config: Config, group: str | None, area: str | None, limit: int) -> list[dict[str, Any]]:
    async with await open_store(config) as store:
        await check_groups(store, (group,) if group is not None else ())
        return [c.as_json() for c in await store.contacts(group, area, limit)]


async def count_contacts(config: Config, group: str | None, area: str | None) -> int:
    async with await open_store(config) as store:
        await check_groups(store, (group,) if group is not None else ())
        return await store.count_contacts(group, area)


async def check_groups(store: Store, names: Sequence[str]) -> None:
    """Raise :class:`NotFound` naming the first of ``names`` that is no group, and the groups there are."""
    known = {name for name, _n in await store.groups()}
    for name in names:
        if name not in known:
            there = f"the groups are: {', '.join(sorted(known))}" if known else "there are no groups yet"
            raise NotFound(f"no group {name!r}; {there} (contacts import --group NAME makes one)")


async def check_audience(store: Store, config: Config, spec: AudienceSpec) -> None:
    """Every group, ticket category and area the operator named exists: a typo is an error
    that names it, never an audience silently smaller (or empty)."""
    await check_groups(store, spec.groups)
    if spec.reporters:
        categories = {c.category for c in load_catalogue(config.catalogue_path).codes if c.category}
        for category in spec.reporters:
            if category not in categories:
                raise NotFound(f"no ticket category {category!r}; the categories are: {', '.join(sorted(categories))}")
    for area in spec.areas:
        if not await store.count_contacts(None, area):
            raise NotFound(f"no contact has area {area!r} (gateway contacts list shows contacts and their areas)")


async def list_groups(config: Config) -> list[tuple[str, int]]:
    async with await open_store(config) as store:
        return await store.groups()


# ---------------------------------------------------------------- notices


def notices(config: Config) -> dict[str, Notice]:
    return load_notices(config.templates_path)


def show_notice(config: Config, name: str) -> tuple[Notice, list[Rendered]]:
    n = notice(notices(config), name)
    return n, [measure(lang, text) for lang, text in n.render_all(n.samples).items()]


# ---------------------------------------------------------------- broadcasts


@dataclass(frozen=True)
class BroadcastRequest:
    template: str
    variables: dict[str, str]
    audience: AudienceSpec
    rate: int | None = None
    window: str | None = None
    every: timedelta | None = None
    until: str | None = None
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
    skipped_rows: list[RowProblem]  # bad rows of --csv files
    ahead: int = 0  # parts of other running campaigns that go first
    warnings: tuple[str, ...] = ()

    @property
    def recipients(self) -> int:
        return self.audience.recipients

    @property
    def parts_per_run(self) -> int:
        return sum(n * self.rendered[lang].parts for lang, n in self.audience.by_language.items())

    def as_json(self) -> dict[str, Any]:
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
            "warnings": list(self.warnings),
        }


async def broadcast(
    config: Config,
    request: BroadcastRequest,
    *,
    dry_run: bool,
    confirm: Callable[[BroadcastPlan], bool] = lambda _p: True,
    on_queue_start: Callable[[int], None] = lambda _n: None,
    on_progress: Callable[[int], None] = lambda _n: None,
    now: datetime | None = None,
) -> tuple[BroadcastPlan, int | None, str | None]:
    """Plan a broadcast (the dry run); unless ``dry_run``, and if ``confirm(plan)``, create the
    campaign and write the public copy. Returns the plan, the campaign id (None if not made)
    and a warning when the campaign was made but the public copy could not be written."""
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
    runs, every_s, until = _runs(request, now, tz)
    if request.rate is not None and request.rate < 1:
        raise BroadcastError("--rate must be at least 1 message a minute")
    skipped: list[RowProblem] = []
    store = await open_store(config, create=True)
    try:
        await check_audience(store, config, request.audience)
        summary = await store.build_audience(
            request.audience, _csv_recipients(request.audience.files, config, skipped),
            default_language=config.site.language,
        )  # fmt: skip
        rendered = {lang: measure(lang, texts[lang]) for lang in texts}
        sims = await sim_capacities(store, config, now)
        messages = summary.recipients
        ahead = await store.parts_waiting() if messages else 0  # nobody to send to: nothing waits for others
        parts = sum(cnt * rendered[lang].parts for lang, cnt in summary.by_language.items())
        est = estimate(parts + ahead, messages, sims, now.astimezone(tz), window=window, rate_cap=request.rate)
        warnings = []
        if runs > 1 and every_s and est.finish is not None and (est.finish - now).total_seconds() > every_s:
            warnings.append(
                "one run takes longer than --every: a new run starts before the last one is out "
                "(those still waiting keep their place; nobody gets a run twice before everyone got one)"
            )
        if runs > 1 and every_s and est.finish is None:
            warnings.append("one run cannot finish within a year at these quotas")
        unsendable = [
            reason
            for lang in sorted(rendered)
            if summary.by_language.get(lang) or not messages
            if (reason := too_long(config, segment(texts[lang]), f"the {lang} text of notice {n.name!r}", "broadcast"))
        ]
        warnings += [f"{reason}: no SIM could send it, the campaign would be refused" for reason in unsendable]
        plan = BroadcastPlan(request, summary, rendered, runs, sims, est, window, skipped, ahead, tuple(warnings))
        if dry_run:
            return plan, None, None
        if unsendable:
            limit = longest_message(config, "broadcast")[0]
            raise MessageTooLong(f"{unsendable[0]}; nothing was queued", max(r.parts for r in rendered.values()), limit)
        if not confirm(plan):
            return plan, None, None
        if not messages:
            raise BroadcastError("nobody to send to: the audience is empty (after removing opted-out numbers)")
        on_queue_start(messages)
        campaign_id = await store.create_campaign(
            NewCampaign(
                template=n.name,
                variables=dict(request.variables),
                texts={lang: texts[lang] for lang in texts},
                parts={lang: r.parts for lang, r in rendered.items()},
                audience=request.audience.describe(),
                rate=request.rate,
                window=str(window) if window else None,
                every_s=every_s,
                runs_total=runs,
                until_at=until,
                opted_out=summary.opted_out,
                creator=holder_name("cli"),
            ),
            now=now,
            on_progress=on_progress,
        )
        return plan, campaign_id, await _publish(store, config)
    finally:
        await store.close()


def _runs(request: BroadcastRequest, now: datetime, tz: ZoneInfo) -> tuple[int, float | None, datetime | None]:
    """(runs, seconds between runs, last moment a run may start)."""
    if request.every is None:
        if request.until or request.times:
            raise BroadcastError("--until and --times need --every (how often to send the update)")
        return 1, None, None
    every = request.every.total_seconds()
    if every < MIN_EVERY:
        raise BroadcastError(f"--every must be at least {MIN_EVERY / 60:g} minutes")
    if (request.until is None) == (request.times is None):
        raise BroadcastError("with --every, give --until TIME or --times N (when to stop)")
    until = None
    if request.times is not None:
        runs = request.times
    else:
        assert request.until is not None
        until = parse_local_time(request.until, tz)
        if until <= now:
            raise BroadcastError(f"--until {request.until} is in the past")
        runs = 1 + int((until - now).total_seconds() // every)
    if not 1 <= runs <= MAX_RUNS:
        raise BroadcastError(f"{runs} runs: a campaign has 1 to {MAX_RUNS}")
    return runs, every, until


def _csv_recipients(
    files: tuple[str, ...], config: Config, skipped: list[RowProblem]
) -> Iterator[tuple[str, str | None]]:
    for name in files:
        try:
            raw, text = open_text(name)
        except FileNotFoundError:
            raise BroadcastError(f"{name}: no such file") from None
        except ContactsFileError as exc:
            raise BroadcastError(f"{name}: {exc}") from None
        with raw, text:
            try:
                for item in read_contacts(bounded_lines(text), config.site.region):
                    if isinstance(item, RowProblem):
                        skipped.append(RowProblem(item.line, f"{name}: {item.problem}"))
                    else:
                        yield item.phone, item.language
            except (ContactsFileError, UnicodeDecodeError, csv.Error) as exc:
                raise BroadcastError(f"{name}: {exc}") from None


async def sim_capacities(store: Store, config: Config, now: datetime) -> list[SimCapacity]:
    """What each SIM may still send for broadcasts today, and on a fresh day; its measured rate."""
    tz = ZoneInfo(config.site.timezone)
    usage = await store.usage_on(now.astimezone(tz).date().isoformat())
    rates = await store.measured_rates(now - timedelta(hours=1))
    modems = list(config.modems)
    if not modems:  # a simulated bank, or a config without [[modems]]: the SIMs the daemon reported
        q = config.quotas
        modems = [
            ModemConfig(r.modem_id, "", per_minute=q.per_minute, per_day=r.per_day or q.per_day,
                        reply_reserve=q.reply_reserve)
            for r in await store.sim_statuses()
        ]  # fmt: skip
    statuses = {r.modem_id: r for r in await store.sim_statuses()}
    fresh = stamp(now - timedelta(minutes=10))
    out = []
    for m in modems:
        status = statuses.get(m.id)
        if status is not None and status.updated_at >= fresh and status.state in ("down", "quarantined"):
            continue  # the daemon says it cannot send now: do not count on it
        limit = QuotaConfig(m.per_minute, m.per_day, m.reply_reserve)
        per_day = limit.per_day - limit.reserve
        used = sum(usage.get(m.id, {}).values())
        out.append(SimCapacity(m.id, limit.minute_limit("broadcast"), max(0, per_day - used), per_day, rates.get(m.id)))
    return out


async def _publish(store: Store, config: Config) -> str | None:
    """Write the public copy; a failure is a warning (the campaign is made: never retry it)."""
    try:
        write_public_copy(config.public_dir, await store.campaigns(limit=200), config.site.name)
    except OSError as exc:
        return f"the public copy could not be written to {config.public_dir}: {exc}"
    return None


async def list_campaigns(config: Config, limit: int) -> list[CampaignRow]:
    async with await open_store(config) as store:
        return await store.campaigns(limit)


def local_time(value: str | datetime | None, config: Config) -> str:
    """A stored UTC time as the site reads it: ``2026-11-24 18:00`` in [site] timezone."""
    if not value:
        return "-"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(ZoneInfo(config.site.timezone)).strftime("%Y-%m-%d %H:%M")


async def campaign_status(config: Config, campaign_id: int) -> dict[str, Any]:
    """The campaign's counts, rate and ETA; ``daemon_running`` says whether anything is being
    sent at all (without a daemon, a running campaign has no ETA)."""
    async with await open_store(config) as store:
        return await _status(store, campaign_id, daemon_running(config))


async def _status(store: Store, campaign_id: int, daemon: bool = True) -> dict[str, Any]:
    campaign = await store.campaign(campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id} (gateway broadcast list shows them)")
    counts = await store.campaign_counts(campaign_id)
    recent = await store.sent_since(campaign_id, utcnow() - timedelta(minutes=1))
    remaining = sum(counts.get(s, 0) for s in ("held", "queued", "sending"))
    sent = sum(counts.get(s, 0) for s in ("sent", "delivered", "unknown"))
    rate = recent / 60
    eta = utcnow() + timedelta(seconds=remaining / rate) if rate and remaining and daemon else None
    return {
        **campaign.as_json(),
        "messages": sum(counts.values()),
        "sent": sent,
        "delivered": counts.get("delivered", 0),
        "failed": counts.get("failed", 0),
        "cancelled_messages": counts.get("cancelled", 0),
        "remaining": remaining,
        "by_status": counts,
        "rate_per_minute": recent,
        "eta": eta.isoformat(timespec="seconds") if eta else None,
        "daemon_running": daemon,
    }


async def control(config: Config, campaign_id: int, action: str) -> str:
    """pause / resume / cancel; returns what happened, in words."""
    async with await open_store(config) as store:
        campaign = await store.campaign(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id} (gateway broadcast list shows them)")
        if action == "pause":
            if not await store.pause_campaign(campaign_id):
                raise BroadcastError(f"campaign {campaign_id} is {campaign.status}: only a running one can be paused")
            return f"campaign {campaign_id} paused; messages already handed to a modem still go"
        if action == "resume":
            if not await store.resume_campaign(campaign_id):
                raise BroadcastError(f"campaign {campaign_id} is {campaign.status}: only a paused one can be resumed")
            return f"campaign {campaign_id} resumed"
        cancelled = await store.cancel_campaign(campaign_id)
        if cancelled is None:
            raise BroadcastError(f"campaign {campaign_id} is already {campaign.status}")
        warning = await _publish(store, config)
        return f"campaign {campaign_id} cancelled: {cancelled} message(s) will not be sent" + (
            f" (warning: {warning})" if warning else ""
        )


async def watch(
    config: Config, campaign_id: int, on_update: Callable[[dict[str, Any]], None], interval: float = 1.0
) -> dict[str, Any]:
    """Report the campaign's progress every ``interval`` until it is done or cancelled."""
    async with await open_store(config) as store:
        while True:
            status = await _status(store, campaign_id, daemon_running(config))
            on_update(status)
            if status["status"] in ("done", "cancelled") or (
                status["remaining"] == 0 and status["runs_done"] >= status["runs_total"]
            ):
                return status
            await asyncio.sleep(interval)
