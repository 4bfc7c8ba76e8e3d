"""The sync lease: one syncer per database (the daemon, or ``gateway sync now`` without one).

Taken in the transaction that hands out a batch, renewed every third of its life while
a request runs (each request is bounded as a whole by ``[crm] timeout``); a syncer that
finds it taken stops at once, cancelling its request. Waits and renewals are on the
monotonic clock, so a step of the wall clock neither ends a lease nor keeps a stale one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import structlog

from gateway.exceptions import CrmError
from gateway.lockfile import holder_alive
from gateway.runtime import Clock
from gateway.store import STORE_ERRORS, LeaseTerms, SyncLease

log = structlog.get_logger("gateway.crm.sync")
T = TypeVar("T")


class LeaseLost(CrmError):
    """Another syncer took over (this one stalled longer than the lease): stop, it carries on."""


class Lease:
    """This syncer's hold on the lease. ``renewed``: when it was last taken or renewed
    (monotonic), None while another syncer has it."""

    def __init__(self, store: SyncLease, holder: str, ttl: float, tick: float, clock: Clock) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.tick = tick  # seconds between looks at the lease while a request runs
        self.clock = clock
        self.renewed: float | None = None

    async def take(self) -> str | None:
        """Take or renew it; the holder that has it instead, if another one does."""
        return await self.store.take_sync_lease(
            self.holder, self.ttl, holder_alive, now=self.clock.wall(), monotonic=self.clock.monotonic()
        )

    def terms(self) -> LeaseTerms:
        """For the store, to extend the lease in the transaction that hands out a batch."""
        return LeaseTerms(self.holder, self.ttl, holder_alive, self.clock.wall(), self.clock.monotonic())

    async def renew(self) -> None:
        """Keep the lease (a write every third of its life); :class:`LeaseLost` when another
        syncer has it now."""
        now = self.clock.monotonic()
        if self.renewed is not None and now - self.renewed < self.ttl / 3:
            return
        other = await self.take()
        if other is not None:
            self.renewed = None
            raise LeaseLost(f"the sync lease went to {other}")
        self.renewed = now

    async def holding(self, request: Awaitable[T]) -> T:
        """Run one CRM request while keeping the lease (it may last up to ``[crm] timeout``):
        the lease never runs out under a request, so ``sync status`` names this syncer and
        ``sync now`` asks it instead of pushing the same batch. If another syncer took the
        lease all the same (this process stalled), the request is cancelled: :class:`LeaseLost`."""
        task = asyncio.ensure_future(request)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.tick)
                if done:
                    return task.result()
                try:
                    await self.renew()
                except STORE_ERRORS as exc:  # the request is bounded; try again at the next tick
                    log.warning("sync_store_error", error=str(exc))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    async def release(self) -> None:
        await self.store.release_sync_lease(self.holder)
