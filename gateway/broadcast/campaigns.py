"""Campaigns once made: list them, follow one, pause, resume or cancel it, and approve one
that waits for a second person.

**Two-person approval.** With ``[web] broadcast_approval = true`` a broadcast created through
the API is written whole but waits as ``pending_approval`` (the pacer releases nothing) until
someone other than its creator approves it (:func:`approve`; the role table's
``broadcasts.approve``). The CLI's ``gateway broadcast`` does not wait: whoever runs it is on
the gateway's host with its database, config and keys, so a second person's word adds nothing
there; they may approve a waiting one (``gateway broadcast approve ID``), not their own.

Each operation takes a store (the API keeps one for its process); the ``config``-taking
functions open one for the CLI.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.broadcast.public_copy import write_public_copy
from gateway.config import Config
from gateway.exceptions import CampaignConflict, NotFound, SelfApproval
from gateway.lockfile import daemon_running
from gateway.store import CampaignDesk, CampaignRow, utcnow
from gateway.store.configured import open_store
from gateway.store.outages import OutageRow

PENDING = "pending_approval"
ACTIONS = ("pause", "resume", "cancel")
LIST_MAX = 200  # campaigns in one list (the public copy shows as many)


def local_user() -> str:
    """Who runs this process: the login name (the CLI's actor when no ``--as`` names one)."""
    import getpass

    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return "local"


async def publish(store: CampaignDesk, config: Config) -> str | None:
    """Write the public copy; a failure is a warning (the campaign is made: never retry it)."""
    try:
        campaigns = await store.campaigns(limit=LIST_MAX)
        words = await store.cap_public([c.id for c in campaigns])  # a CAP alert's headline and instruction
        outages, stages = await store.public_outages([c.id for c in campaigns])
        shown = [_public_outage(o, config) for o in outages]
        write_public_copy(config.public_dir, campaigns, config.site.name, words, shown, stages)
    except OSError as exc:
        return f"the public copy could not be written to {config.public_dir}: {exc}"
    return None


def _public_outage(o: OutageRow, config: Config) -> dict[str, Any]:
    """An outage as the public copy shows it (its cause stays inside: an operator's words)."""
    return {
        "id": o.id, "areas": o.area_list, "status": o.status, "started_at": o.started_at, "eta": o.eta_at,
        "ended_at": o.ended_at, "started_local": local_time(o.started_at, config),
        "eta_local": local_time(o.eta_at, config) if o.eta_at else None,
        "ended_local": local_time(o.ended_at, config) if o.ended_at else None,
    }  # fmt: skip


async def list_campaigns(config: Config, limit: int) -> list[CampaignRow]:
    async with await open_store(config) as store:
        return await store.campaigns(limit)


async def campaigns_progress(store: CampaignDesk, config: Config, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` campaigns, each as :func:`progress` shows it."""
    daemon = daemon_running(config)
    return [await progress(store, c.id, daemon) for c in await store.campaigns(limit)]


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
        return await progress(store, campaign_id, daemon_running(config))


async def progress(store: CampaignDesk, campaign_id: int, daemon: bool = True) -> dict[str, Any]:
    """One campaign with its counts, rate and ETA (``gateway broadcast status --json``)."""
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


async def control(config: Config, campaign_id: int, action: str, *, actor: str | None = None) -> str:
    """pause / resume / cancel, by ``actor`` (the login name when None); what happened, in words."""
    async with await open_store(config) as store:
        return await change(store, config, campaign_id, action, actor=actor or local_user())


async def change(store: CampaignDesk, config: Config, campaign_id: int, action: str, *, actor: str) -> str:
    """pause / resume / cancel a campaign, audited as by ``actor``: what happened, in words.
    Raises :class:`NotFound`, or :class:`CampaignConflict` when its state does not allow it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    campaign = await store.campaign(campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id} (gateway broadcast list shows them)")
    if action == "pause":
        if not await store.pause_campaign(campaign_id, actor=actor):
            raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: only a running one can be paused")
        return f"campaign {campaign_id} paused; messages already handed to a modem still go"
    if action == "resume":
        if campaign.status == PENDING:
            raise CampaignConflict(
                f"campaign {campaign_id} is {PENDING}: it goes once another supervisor approves it, not on resume"
            )
        if not await store.resume_campaign(campaign_id, actor=actor):
            raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: only a paused one can be resumed")
        return f"campaign {campaign_id} resumed"
    cancelled = await store.cancel_campaign(campaign_id, actor=actor)
    if cancelled is None:
        raise CampaignConflict(f"campaign {campaign_id} is already {campaign.status}")
    warning = await publish(store, config)
    return f"campaign {campaign_id} cancelled: {cancelled} message(s) will not be sent" + (
        f" (warning: {warning})" if warning else ""
    )


async def approve_campaign(config: Config, campaign_id: int, *, actor: str | None = None) -> str:
    """:func:`approve` for the CLI, by ``actor`` (the login name when None)."""
    async with await open_store(config) as store:
        return await approve(store, config, campaign_id, actor=actor or local_user())


async def approve(store: CampaignDesk, config: Config, campaign_id: int, *, actor: str) -> str:
    """Let a campaign waiting for approval go, approved by ``actor``: what happened, in words.
    Raises :class:`NotFound`; :class:`SelfApproval` when ``actor`` created it;
    :class:`CampaignConflict` when it is not waiting for approval."""
    campaign = await store.campaign(campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id} (gateway broadcast list shows them)")
    if campaign.status != PENDING:
        raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: only one {PENDING} can be approved")
    if campaign.created_by == actor:
        raise SelfApproval(
            f"campaign {campaign_id} was created by {actor}: a second supervisor must approve it, not its creator"
        )
    if not await store.approve_campaign(campaign_id, actor=actor):  # changed meanwhile (cancelled, approved)
        now = await store.campaign(campaign_id)
        raise CampaignConflict(f"campaign {campaign_id} is {now.status if now else 'gone'}: nothing approved")
    warning = await publish(store, config)
    return f"campaign {campaign_id} approved by {actor}: the daemon sends it" + (
        f" (warning: {warning})" if warning else ""
    )


async def watch(
    config: Config, campaign_id: int, on_update: Callable[[dict[str, Any]], None], interval: float = 1.0
) -> dict[str, Any]:
    """Report the campaign's progress every ``interval`` until it is done or cancelled."""
    async with await open_store(config) as store:
        while True:
            status = await progress(store, campaign_id, daemon_running(config))
            on_update(status)
            if status["status"] in ("done", "cancelled") or (
                status["remaining"] == 0 and status["runs_done"] >= status["runs_total"]
            ):
                return status
            await asyncio.sleep(interval)
