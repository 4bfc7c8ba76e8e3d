"""The database watch, a :class:`gateway.runtime.Service` of the daemon: rows another process
commits (``gateway send``, ``gateway broadcast``, ``gateway sync now``) are noticed within
``interval`` by ``PRAGMA data_version``, and each round checks that the database file is
still the one at its path (if it was removed or replaced, the daemon must stop, see
:class:`gateway.exceptions.DatabaseReplaced`)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from gateway.exceptions import DatabaseReplaced
from gateway.runtime import BaseService, Intervals
from gateway.store.protocols import DaemonStore

log = structlog.get_logger("gateway.daemon")

INTERVAL = 0.25  # seconds: how fast rows written by another process are noticed (default)


class DatabaseWatch(BaseService):
    name = "db-watch"

    def __init__(
        self,
        store: DaemonStore,
        *,
        on_change: Callable[[], None],
        on_replaced: Callable[[DatabaseReplaced], None],
        interval: float = INTERVAL,
    ) -> None:
        super().__init__()
        self.intervals = Intervals(idle=interval)
        self.store = store
        self._on_change = on_change
        self._on_replaced = on_replaced
        self._seen: int | None = None

    async def start(self) -> None:
        self._seen = await self.store.data_version()

    async def step(self) -> None:
        why = self.store.replaced()
        if why is not None:  # a restore or a cleanup script under a running daemon
            self._on_replaced(DatabaseReplaced(self.store.path, why))
            return
        try:
            version = await self.store.data_version()
        except Exception:
            log.exception("db_watch_failed")
            return
        if version != self._seen:
            self._seen = version
            self._on_change()
