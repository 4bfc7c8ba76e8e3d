"""``gateway sync ...``: what the CLI does about CRM sync, as library functions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gateway.config import Config
from gateway.conversation.keywords import load_catalogue
from gateway.conversation.refs import ref_candidates
from gateway.crm.push import CycleReport
from gateway.crm.sync import LEASE_TTL, SyncService
from gateway.exceptions import CrmError, GatewayError
from gateway.lockfile import holder_alive, holder_name
from gateway.store import Store, stamp
from gateway.store.configured import open_store

DELEGATE_POLL = 0.5  # seconds between looks at the daemon's progress


async def sync_status(config: Config) -> dict[str, Any]:
    """Link state, last success and error, queue counts, oldest unsynced age."""
    async with await open_store(config) as store:
        return await status_of(store, config)


async def status_of(store: Store, config: Config) -> dict[str, Any]:
    """:func:`sync_status` on an open store (the console's CRM link page)."""
    counts = await store.sync_counts()
    events = await store.event_counts()
    state = await store.sync_state()
    syncing = await store.sync_lease_holder(holder_alive, datetime.now(UTC), time.monotonic())
    oldest = counts["oldest_queued"]
    age = (datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds() if oldest else None
    return {
        "crm_url": display_url(config.crm.url) or None,
        "link": state.get("link", "unknown") if config.crm.enabled else "not configured",
        "link_since": state.get("link_since"),
        "last_success_at": state.get("last_success_at"),
        "last_attempt_at": state.get("last_attempt_at"),
        "last_error": state.get("last_error") or None,
        "next_attempt_at": state.get("next_attempt_at") or None,
        "queued": counts["queued"],
        "synced": counts["synced"],
        "rejected": counts["rejected"],
        "batches_in_flight": counts["batches_in_flight"],
        "oldest_queued_at": oldest,
        "oldest_queued_age_s": round(age, 1) if age is not None else None,
        "events_pending": events["events_pending"],
        "events_rejected": events["events_rejected"],
        "events_error": state.get("events_error") or None,
        "cursor": state.get("cursor"),
        "syncing": syncing,
    }


async def sync_now(
    config: Config,
    *,
    on_total: Callable[[int], None] = lambda _n: None,
    on_progress: Callable[[int], None] = lambda _n: None,
    timeout: float = 300.0,
) -> tuple[CycleReport, str]:
    """One push of everything queued and one pull. Without a daemon: here, in the
    foreground. With a daemon syncing: ask it to, and follow its progress. Returns the
    report and who did it ("here" or the daemon's lease holder)."""
    if not config.crm.enabled:
        raise GatewayError("no CRM configured: set [crm] url (or GATEWAY_CRM_URL)")
    store = await open_store(config)
    try:
        on_total((await store.sync_counts())["queued"])
        holder = holder_name("cli")
        ttl = max(LEASE_TTL, 3 * config.crm.timeout)
        other = await store.take_sync_lease(holder, ttl, holder_alive, datetime.now(UTC), time.monotonic())
        if other is not None:
            if not other.startswith("daemon:"):
                raise GatewayError(f"another `gateway sync now` ({other}) is syncing; wait for it to finish")
            return await _delegate(store, other, on_progress, timeout), other
        try:
            service = SyncService(store, config, load_catalogue(config.catalogue_path), holder=holder,
                                  on_progress=on_progress)  # fmt: skip
            try:
                report = await service.cycle()
            except CrmError as exc:
                await service.record_error(exc)
                raise
            return report, "here"
        finally:
            await store.release_sync_lease(holder)
    finally:
        await store.close()


async def _delegate(store: Store, holder: str, on_progress: Callable[[int], None], timeout: float) -> CycleReport:
    asked = stamp()
    await store.set_sync_state(request_at=asked)
    before = await store.sync_counts()
    left = before["queued"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await asyncio.sleep(DELEGATE_POLL)
        counts = await store.sync_counts()
        if counts["queued"] < left:
            on_progress(left - counts["queued"])
            left = counts["queued"]
        state = await store.sync_state()
        if state.get("request_done_at", "") >= asked:
            error = state.get("request_error") or None
            if error:
                raise CrmError(f"the daemon ({holder}) tried: {error}")
            return CycleReport(
                synced=counts["synced"] - before["synced"],
                rejected=counts["rejected"] - before["rejected"],
            )
    raise CrmError(f"the daemon ({holder}) did not finish within {timeout:g} s; see gateway sync status")


def display_url(url: str) -> str:
    """``url`` without credentials (``https://user:pass@crm`` -> ``https://***@crm``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


async def retry_rejected(config: Config, refs: tuple[str, ...]) -> tuple[int, int]:
    """Rejected tickets and rejected desk changes (events) queued again: (tickets, events)."""
    store = await open_store(config)
    try:
        names = tuple(dict.fromkeys(c for r in refs for c in (r, *ref_candidates(r))))
        return await store.retry_rejected(names), await store.retry_rejected_events(names)
    finally:
        await store.close()


def report_json(report: CycleReport, by: str) -> dict[str, Any]:
    return {**asdict(report), "by": by}
