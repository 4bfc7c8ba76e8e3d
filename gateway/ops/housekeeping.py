"""Housekeeping, a :class:`gateway.runtime.Service` of the daemon: long messages whose parts
stopped coming; messages left unrouted by a database hiccup; delivery reports that never
came; once an hour, the purge of old raw PDUs and finished outbox rows (``[retention]``)."""

from __future__ import annotations

from datetime import timedelta

import structlog

from gateway.config import Config
from gateway.inbound.intake import Intake
from gateway.runtime import BaseService, Clock, Intervals, every
from gateway.store import HousekeepingStore

log = structlog.get_logger("gateway.daemon")

INTERVAL = 10.0  # seconds between rounds, at most half of [receive] concat_timeout (default)
PURGE_INTERVAL = 3600.0  # seconds between retention purges (default)
REPORTS_EXPIRE = timedelta(days=1)  # a delivery report not come within this never will


class Housekeeping(BaseService):
    name = "housekeeping"

    def __init__(
        self,
        store: HousekeepingStore,
        intake: Intake,
        config: Config,
        clock: Clock,
        *,
        interval: float = INTERVAL,
        purge_interval: float = PURGE_INTERVAL,
    ) -> None:
        super().__init__()
        self.intervals = Intervals(idle=min(interval, config.receive.concat_timeout / 2))
        self.store = store
        self.intake = intake
        self.retention = config.retention
        self.clock = clock
        self._purge_due = every(purge_interval, clock)
        self._started = False

    async def step(self) -> None:
        """One round; a failure is logged and the next round tries again. The first round
        comes one interval after start (start-up has routed what was waiting)."""
        if not self._started:
            self._started = True
            return
        try:
            await self.intake.release_incomplete()
            await self.intake.route_waiting()
            await self.store.expire_pending_reports(self.clock.wall() - REPORTS_EXPIRE)
            if self._purge_due():
                await self._purge()
        except Exception:  # retried at the next round
            log.exception("housekeeping_failed")

    async def _purge(self) -> None:
        keep = self.retention
        deleted = await self.store.purge(keep.inbound_pdus_days, keep.outbox_days, self.clock.wall())
        if any(deleted.values()):
            log.info("database_purged", **deleted)
