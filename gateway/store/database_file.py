"""The database file read without opening a :class:`~gateway.store.Store`.

``gateway stats``, ``doctor``, ``backup``, ``export`` and the metrics thread read the
file as it is, blocking and read-only: they must work beside a running daemon, as
another user, and on a damaged file, so nothing here migrates or writes. It is what
:class:`~gateway.store.protocols.StatsReader`, ``StoreHealth`` and ``Archive`` describe.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.store import health, maintenance, stats
from gateway.store.health import FileState
from gateway.store.rows import StatsRows


class DatabaseFile:
    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    def exists(self) -> bool:
        return self.path.exists()

    # ------------------------------------------------------------ StatsReader

    def stats_rows(self) -> StatsRows:
        return stats.stats_rows(self.path, self.busy_timeout)

    # ------------------------------------------------------------ StoreHealth

    def quick_check(self) -> str:
        return health.quick_check_file(self.path, self.busy_timeout)

    def describe(self) -> FileState:
        return health.describe_file(self.path, self.busy_timeout)

    def sim_status_rows(self) -> dict[str, dict[str, Any]]:
        return stats.sim_status_rows(self.path, self.busy_timeout)

    # ------------------------------------------------------------ Archive

    def backup_to(self, target: Path) -> None:
        maintenance.backup_to(self.path, target, self.busy_timeout)

    def export_rows(
        self, columns: Sequence[str], *, since: datetime | None = None, sync: str | None = None
    ) -> Generator[dict[str, Any], None, None]:
        return maintenance.export_rows(self.path, columns, since=since, sync=sync, busy_timeout=self.busy_timeout)
