"""Outages: declare, update, restore, cancel, list, show, suggest -- the one library every face
(``gateway outage``, ``/api/v1/outages``, CAP 1.2 in) calls. See :mod:`gateway.outages`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.broadcast.campaigns import publish
from gateway.config import Config
from gateway.conversation.outages import area_by_account, suggest_areas
from gateway.conversation.turns import OUTAGE_CATEGORY
from gateway.exceptions import OutageError, Wording
from gateway.outages.etr import local_text, parse_eta
from gateway.outages.notices import Notice, OutageStore, Stage, recipients, send_stage
from gateway.store import utcnow
from gateway.store.outages import NewStage, OutageRow
from gateway.store.protocols_outages import OutageLinks

MAX_CAUSE = 500
MAX_AREAS = 50


@dataclass(frozen=True)
class OutageResult:
    """What a change did (or, with ``dry_run``, would do)."""

    outage: dict[str, Any] | None  # the outage after the change (--json); None: a dry-run declare
    stage_id: int | None
    notices: list[Notice] = field(default_factory=list)
    warning: str | None = None  # the public copy could not be written (the change is made)
    dry_run: bool = False

    def as_json(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "outage": self.outage,
            "stage_id": self.stage_id,
            "dry_run": self.dry_run,
            "notified": recipients(self.notices),
            "notices": [n.as_json(names) for n in self.notices],
            "warning": self.warning,
        }


async def declare(
    store: OutageStore, config: Config, areas: Sequence[str], *, cause: str | None = None,
    eta: str | datetime | None = None, notify: bool = False, dry_run: bool = False, actor: str,
    origin: str | None = None, now: datetime | None = None, approval: bool = False,
) -> OutageResult:  # fmt: skip
    """Open an outage of ``areas`` (contacts' areas or ``[areas]`` names) with its ``cause`` and
    ETR ``eta`` ("18:00", "2026-12-03 09:00" local, or a datetime). With ``notify`` the ``outage``
    notice goes to the areas' contacts. ``dry_run``: nothing is written; the plan is returned.
    ``origin`` says what drove it (``cap:IDENTIFIER``). Audited as ``actor``. ``approval`` (every
    stage takes it): the notices wait for a second supervisor, as a broadcast made through the API
    does under ``[web] broadcast_approval``."""
    now = now or utcnow()
    names = await _check_areas(store, config, areas)
    cause = _check_text(cause, "cause")
    eta_at = parse_eta(eta, now, ZoneInfo(config.site.timezone))
    earlier = await _reports_in(store, config, names, now)  # reported before it was declared: taken in
    stage = Stage("declared", names, eta_at, tuple((phone, lang) for _, phone, lang in earlier))
    if dry_run:
        found, _ = await send_stage(store, config, stage, actor=actor, dry_run=True, now=now) if notify else ([], None)
        return OutageResult(None, None, found, dry_run=True)
    if notify:  # the notice's problems (no ETR, too long) before anything is written
        await _precheck(store, config, stage, actor, now)
    outage_id, stage_id = await store.declare_outage(names, cause, eta_at, actor, origin=origin, now=now)
    await store.link_reports(outage_id, [ticket_id for ticket_id, _, _ in earlier], now)
    return await _notify(store, config, outage_id, stage_id, stage if notify else None, actor, now, approval)


async def _reports_in(
    store: OutageStore, config: Config, areas: Sequence[str], now: datetime
) -> list[tuple[str, str, str]]:
    """(ticket id, phone, language) of the open outage reports from ``areas`` of the last
    ``[conversation] repeat_window`` that no outage has: a new outage of those areas takes them in
    (their reporters hear its stages; restoring it resolves them)."""
    since = now - timedelta(seconds=config.conversation.repeat_window)
    found = await store.open_reports_since(OUTAGE_CATEGORY, since)
    if not found:
        return []
    by_phone, by_account = await store.areas_by_phone_and_account({f[1] for f in found}, {f[2] for f in found if f[2]})
    wanted = set(areas)
    out = []
    for ticket_id, phone, account, language in found:
        area = by_phone.get(phone) or (by_account.get(account) if account else None)
        area = area or area_by_account(account, config.areas)
        if area in wanted:
            out.append((ticket_id, phone, language))
    return out


async def update(
    store: OutageStore, config: Config, outage_id: int, *, eta: str | datetime | None = None,
    note: str | None = None, notify: bool = False, dry_run: bool = False, actor: str, now: datetime | None = None,
    approval: bool = False,
) -> OutageResult:  # fmt: skip
    """A staged update of an active outage: a new ETR and/or a note; with ``notify`` the
    ``update`` notice to the areas' contacts and everyone whose report is linked, once each."""
    now = now or utcnow()
    row = await _active(store, outage_id)
    eta_at = parse_eta(eta, now, ZoneInfo(config.site.timezone))
    note = _check_text(note, "note")
    if eta_at is None and note is None and not notify:
        raise OutageError(Wording("nothing to update: give {eta} or {note}", {"eta": "an ETR (eta)", "note": "a note"}))
    current = eta_at or (datetime.fromisoformat(row.eta_at) if row.eta_at else None)
    stage = Stage("update", tuple(row.area_list), current, await _reporters(store, outage_id))
    if dry_run:
        return await _dry(store, config, row, stage, notify, actor, now)
    if notify:
        await _precheck(store, config, stage, actor, now)
    stage_id = await store.add_outage_stage(outage_id, NewStage("update", actor, eta_at, note), now)
    return await _notify(store, config, outage_id, stage_id, stage if notify else None, actor, now, approval)


async def restore(
    store: OutageStore, config: Config, outage_id: int, *, check: bool = False, notify: bool = True,
    note: str | None = None, dry_run: bool = False, actor: str, now: datetime | None = None, approval: bool = False,
) -> OutageResult:  # fmt: skip
    """The outage is over: its open linked tickets are resolved (and synced as such), and with
    ``notify`` the ``restored`` notice goes to the areas' contacts and every reporter. ``check``
    adds "reply 1 if you still have no service": a 1 within ``[outages] check_window`` from one
    who was asked opens a ticket linked to the outage as a still-out report."""
    return await _end(store, config, outage_id, "restored", check, notify, note, dry_run, actor, now, approval)


async def cancel(
    store: OutageStore, config: Config, outage_id: int, *, notify: bool = False, note: str | None = None,
    dry_run: bool = False, actor: str, now: datetime | None = None, approval: bool = False,
) -> OutageResult:  # fmt: skip
    """The outage was declared by mistake (or its alert withdrawn): ``cancelled``, its open linked
    tickets resolved; with ``notify`` the ``restored`` notice goes as for a restoration."""
    return await _end(store, config, outage_id, "cancelled", False, notify, note, dry_run, actor, now, approval)


async def _end(
    store: OutageStore, config: Config, outage_id: int, kind: str, check: bool, notify: bool,
    note: str | None, dry_run: bool, actor: str, now: datetime | None, approval: bool,
) -> OutageResult:  # fmt: skip
    now = now or utcnow()
    row = await _active(store, outage_id)
    note = _check_text(note, "note")
    if check and not notify:
        raise OutageError(Wording("the restoration check goes with the notice: drop {no_notify}",
                                  {"no_notify": "no notice"}))  # fmt: skip
    stage = Stage(kind, tuple(row.area_list), None, await _reporters(store, outage_id), check)
    if dry_run:
        return await _dry(store, config, row, stage, notify, actor, now)
    if notify:
        await _precheck(store, config, stage, actor, now)
    until = now + timedelta(seconds=config.outages.check_window) if check else None
    new = NewStage(kind, actor, None, note, checked=check, check_until=until)
    stage_id = await store.add_outage_stage(outage_id, new, now)
    return await _notify(store, config, outage_id, stage_id, stage if notify else None, actor, now, approval)


async def _precheck(store: OutageStore, config: Config, stage: Stage, actor: str, now: datetime) -> None:
    """The notice's problems (no ETR, a text no SIM could send) before anything is written."""
    from gateway.broadcast.operations import refuse_unsendable

    found, _ = await send_stage(store, config, stage, actor=actor, dry_run=True, now=now)
    for n in found:
        refuse_unsendable(config, n.plan)


async def _dry(
    store: OutageStore, config: Config, row: OutageRow, stage: Stage, notify: bool, actor: str, now: datetime
) -> OutageResult:
    found, _ = await send_stage(store, config, stage, actor=actor, dry_run=True, now=now) if notify else ([], None)
    return OutageResult(await outage_json(store, config, row), None, found, dry_run=True)


async def _notify(
    store: OutageStore, config: Config, outage_id: int, stage_id: int, stage: Stage | None, actor: str, now: datetime,
    approval: bool = False,
) -> OutageResult:  # fmt: skip
    found: list[Notice] = []
    warning = None
    if stage is not None:
        found, warning = await send_stage(store, config, stage, actor=actor, dry_run=False, now=now, approval=approval)
        if found:
            check_id = next((n.campaign_id for n in found if n.with_check), None)
            await store.note_stage_notice(stage_id, found[0].campaign_id, check_id, recipients(found))
    # the public copy: the outage as it is now, each notice with its stage
    warning = await publish(store, config) or warning
    row = await store.outage(outage_id)
    return OutageResult(await outage_json(store, config, row), stage_id, found, warning)


async def list_outages(
    store: OutageStore, config: Config, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first, as ``--json`` and the API show them."""
    if status is not None and status not in ("active", "restored", "cancelled"):
        raise OutageError(f"no status {status!r}: active, restored or cancelled")
    return [await outage_json(store, config, row) for row in await store.outages(status, limit)]


async def show_outage(store: OutageStore, config: Config, outage_id: int) -> dict[str, Any]:
    """One outage with its stages (the ETR history, the notices sent) and its linked reports."""
    row = await store.outage(outage_id)
    tz = ZoneInfo(config.site.timezone)
    stages = await store.outage_stages(outage_id)
    reports = await store.outage_reports(outage_id)
    return {
        **await outage_json(store, config, row),
        "stages": [
            {"id": s.id, "kind": s.kind, "at": s.at, "actor": s.actor, "eta": s.eta_at,
             "eta_local": local_text(s.eta_at, tz), "note": s.note, "check": bool(s.checked),
             "campaign_id": s.campaign_id, "check_campaign_id": s.check_campaign_id, "notified": s.recipients}
            for s in stages
        ],
        "etr_history": [{"at": s.at, "eta": s.eta_at, "eta_local": local_text(s.eta_at, tz)} for s in stages
                        if s.kind in ("declared", "update")],
        "tickets": [{"ticket_id": r.ticket_id, "ref": r.ref, "phone": r.phone, "status": r.status, "kind": r.kind,
                     "at": r.at} for r in reports],
    }  # fmt: skip


async def outage_json(store: OutageStore, config: Config, row: OutageRow) -> dict[str, Any]:
    tz = ZoneInfo(config.site.timezone)
    reports = await store.outage_reports(row.id)
    stages = await store.outage_stages(row.id)
    return {
        "id": row.id,
        "areas": row.area_list,
        "cause": row.cause,
        "status": row.status,
        "started_at": row.started_at,
        "eta": row.eta_at,
        "eta_local": local_text(row.eta_at, tz),
        "ended_at": row.ended_at,
        "check_until": row.check_until,
        "created_by": row.created_by,
        "origin": row.origin,
        "reports": sum(r.kind == "linked" for r in reports),
        "still_out": sum(r.kind == "still_out" for r in reports),
        "notices_sent": sum(s.recipients for s in stages),
        "updates": sum(s.kind == "update" for s in stages),
    }


async def suggest(store: OutageLinks, config: Config, now: datetime | None = None) -> list[dict[str, Any]]:
    """Areas without a declared outage from which at least ``[outages] suggest_reports`` distinct
    phones reported an outage within ``suggest_window`` seconds: declare one?"""
    now = now or utcnow()
    settings = config.outages
    since = now - timedelta(seconds=settings.suggest_window)
    reports = await store.outage_tickets_since(OUTAGE_CATEGORY, since)
    loose = [(p, a) for p, a, linked in reports if linked is None]
    by_phone, by_account = await store.areas_by_phone_and_account({p for p, _ in loose}, {a for _, a in loose if a})
    declared = {a for row in await store.outages("active") for a in row.area_list}
    found = suggest_areas(reports, by_phone, by_account, config.areas, declared, settings.suggest_reports)
    return [{"area": area, "reports": n, "since": since.isoformat(timespec="seconds")} for area, n in found.items()]


async def _check_areas(store: OutageStore, config: Config, areas: Sequence[str]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(a.strip() for a in areas if a.strip()))
    if not names:
        raise OutageError(Wording("an outage needs {area}: one or more areas", {"area": "an area"}))
    if len(names) > MAX_AREAS:
        raise OutageError(f"{len(names)} areas: an outage has at most {MAX_AREAS}")
    for name in names:
        if name not in config.areas and not await store.count_contacts(None, name):
            raise OutageError(
                f"no contact has area {name!r} and [areas] has no rule for it "
                "(gateway contacts list shows the contacts' areas)"
            )
    return names


def _check_text(text: str | None, name: str) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_CAUSE:
        raise OutageError(Wording("{field} is {n} characters: at most {most}",
                                  {"field": name, "n": str(len(text)), "most": str(MAX_CAUSE)}))  # fmt: skip
    return text.strip()


async def _active(store: OutageStore, outage_id: int) -> OutageRow:
    from gateway.exceptions import OutageConflict

    row = await store.outage(outage_id)
    if row.status != "active":
        raise OutageConflict(f"outage {outage_id} is {row.status}: only an active outage changes")
    return row


async def _reporters(store: OutageStore, outage_id: int) -> tuple[tuple[str, str | None], ...]:
    return tuple((r.phone, r.language) for r in await store.outage_reports(outage_id))
