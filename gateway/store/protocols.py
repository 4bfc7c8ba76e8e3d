"""Narrow views of the store: each consumer names the few methods it needs.

:class:`~gateway.store.Store` satisfies the async ones structurally;
:class:`~gateway.store.database_file.DatabaseFile` (the file read without a Store:
blocking, read-only, never migrated) satisfies :class:`StatsReader`,
:class:`StoreHealth` and :class:`Archive`. The ``TYPE_CHECKING`` block at the end
makes ``mypy --strict`` prove both.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.store.health import FileState
    from gateway.store.rows import StatsRows


# ---------------------------------------------------------------- the file, read without a Store (ops)


class StatsReader(Protocol):
    """``gateway stats`` and the metrics exporter."""

    def stats_rows(self) -> StatsRows: ...


class StoreHealth(Protocol):
    """``gateway doctor``."""

    def quick_check(self) -> str: ...
    def describe(self) -> FileState: ...
    def sim_status_rows(self) -> dict[str, dict[str, Any]]: ...


class Archive(Protocol):
    """``gateway backup`` and ``gateway export tickets``."""

    @property
    def path(self) -> Path: ...
    def backup_to(self, target: Path) -> None: ...
    def export_rows(
        self, columns: Sequence[str], *, since: datetime | None = None, sync: str | None = None
    ) -> Generator[dict[str, Any], None, None]: ...


if TYPE_CHECKING:  # mypy proves that the store's classes satisfy these views

    def _file_views(file: DatabaseFile) -> tuple[StatsReader, StoreHealth, Archive]:
        return file, file, file

    from gateway.store.database_file import DatabaseFile
