"""Views of the database file read without a Store -- blocking, read-only, never migrated:
for ops commands (stats, doctor, backup, export) and the metrics thread.
:class:`~gateway.store.database_file.DatabaseFile` satisfies them; the ``TYPE_CHECKING``
block at the end makes ``mypy --strict`` prove it."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.store.database_file import DatabaseFile
    from gateway.store.health import FileState
    from gateway.store.rows import StatsRows

__all__ = ["Archive", "StatsReader", "StoreHealth"]


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


if TYPE_CHECKING:  # mypy proves that the file satisfies these views

    def _file_views(file: DatabaseFile) -> tuple[StatsReader, StoreHealth, Archive]:
        return file, file, file
