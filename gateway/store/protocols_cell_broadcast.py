"""The view of the store that cell broadcasts heard need (gateway.inbound.cell_broadcast)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store.cell_broadcast import CellBroadcastRow, HeardBroadcast

__all__ = ["CellBroadcastLog"]


class CellBroadcastLog(Protocol):
    """Each message heard once, with the modems that heard it; ``gateway cap received``."""

    async def record_cell_broadcast(
        self, modem_id: str, heard: HeardBroadcast, now: datetime | None = ...
    ) -> tuple[CellBroadcastRow, bool]: ...
    async def cell_broadcasts(self, limit: int = ...) -> list[CellBroadcastRow]: ...
