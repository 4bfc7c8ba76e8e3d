"""The daemon's side of broadcasts: release each running campaign's rows into the queue.

A campaign's rows wait in the outbox as ``held``. Every ``tick`` (a second; or when
woken) this :class:`gateway.runtime.Service`, for each running campaign: starts a staged update's next run
when it is due; outside the campaign's send window takes its queued rows back;
otherwise tops its queue up to a shallow depth (a few rows per ready SIM), or
at its rate cap when it has one; and marks it done when nothing is left. The
queue never holds more broadcast rows than the SIMs can take soon, so a reply
to a customer is never more than a few sends away, and pausing is immediate.

The send window is read on the wall clock (it is a time of day); the rate cap and
the wait for a staged update's next run on the monotonic clock, so a wall clock
stepped back an hour holds neither up for an hour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from gateway.config import Config
from gateway.config.window import parse_window
from gateway.lockfile import holder_alive
from gateway.runtime import BaseService, Clock, Intervals, as_clock, every
from gateway.store import STORE_ERRORS, CampaignQueue, CampaignRow
from sim_bank import SimBank

log = structlog.get_logger("gateway.broadcast.pacing")

TICK = 1.0  # seconds between rounds (default)
TIDY_INTERVAL = 30.0  # seconds between looks for campaigns a killed CLI left half-written (default)
DEPTH_PER_SIM = 10  # queued rows per ready SIM, per campaign
MIN_DEPTH = 20


class Pacer(BaseService):
    name = "campaigns"

    def __init__(
        self,
        store: CampaignQueue,
        config: Config,
        bank: SimBank,
        *,
        on_release: Callable[[], None],
        clock: Clock | Callable[[], datetime] | None = None,
        tick: float = TICK,
        tidy_interval: float = TIDY_INTERVAL,
    ) -> None:
        super().__init__()
        self._tick = tick
        self.intervals = Intervals(idle=tick, retry_base=tick, retry_cap=tick)  # a database error: the next tick
        self.store = store
        self.bank = bank
        self.tz = ZoneInfo(config.site.timezone)
        self._on_release = on_release
        self.clock = as_clock(clock)  # the send window by the wall clock; pacing by the monotonic one
        self._tokens: dict[int, float] = {}
        self._run_due: dict[tuple[int, str], float] = {}  # (campaign, stored next run) -> monotonic due
        self._last = self.clock.monotonic()
        self._tidy_due = every(tidy_interval, self.clock)

    async def step(self) -> None:
        """One round; a database error goes to the loop (logged, the next tick)."""
        try:
            await self.round()
        except STORE_ERRORS:
            raise
        except Exception:  # a defect must not stop every broadcast for good
            log.exception("campaigns_round_failed")

    async def round(self) -> None:
        now = self.clock.wall()
        mono = self.clock.monotonic()
        elapsed, self._last = mono - self._last, mono
        if self._tidy_due():
            for campaign_id in await self.store.tidy_campaigns(holder_alive, now):
                log.warning("campaign_abandoned", campaign_id=campaign_id,
                            reason="the broadcast command stopped before every recipient was queued")  # fmt: skip
        depth = max(MIN_DEPTH, DEPTH_PER_SIM * len(self.bank.ready()))
        running = await self.store.running_campaigns()
        for campaign in running:
            added = await self.store.start_due_run(campaign.id, self._run_clock(campaign, now, mono))
            if added is not None:
                log.info("campaign_run_started", campaign_id=campaign.id, run=campaign.runs_done + 1, recipients=added)
            if campaign.window and not parse_window(campaign.window).open_at(now.astimezone(self.tz)):
                held = await self.store.hold_queued(campaign.id)
                if held:
                    log.info("campaign_window_closed", campaign_id=campaign.id, held=held)
                self._tokens.pop(campaign.id, None)
                continue
            queued = await self.store.queued_for(campaign.id)
            room = depth - queued
            if campaign.rate:
                per_s = campaign.rate / 60
                # the first message goes at once; then one every 60 / rate seconds
                tokens = min(self._tokens.get(campaign.id, 1.0) + per_s * elapsed, max(1.0, per_s * self._tick * 2))
                room = min(room, math.floor(tokens))
            released = await self.store.release_held(campaign.id, room)
            if campaign.rate:
                self._tokens[campaign.id] = tokens - max(0, released)
            if released:
                self._on_release()
            elif queued == 0 and await self.store.finish_if_done(campaign.id, now):
                log.info("campaign_done", campaign_id=campaign.id)
        for gone in set(self._tokens) - {c.id for c in running}:
            self._tokens.pop(gone, None)
        current = {(c.id, c.next_run_at) for c in running}
        for key in set(self._run_due) - current:
            del self._run_due[key]

    def _run_clock(self, campaign: CampaignRow, now: datetime, mono: float) -> datetime:
        """The time a staged update's next run is judged by: the wall clock, or the run's stored
        time once the monotonic clock says it is due. The stored time is read once, at most
        ``every`` seconds away (the wall clock may have stepped back since it was written)."""
        if campaign.next_run_at is None:
            return now
        stored = datetime.fromisoformat(campaign.next_run_at)
        key = (campaign.id, campaign.next_run_at)
        due = self._run_due.get(key)
        if due is None:
            left = min(max(0.0, (stored - now).total_seconds()), campaign.every_s or 0.0)
            due = self._run_due[key] = mono + left
        return max(now, stored) if mono >= due else now
