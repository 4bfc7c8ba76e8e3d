"""Cell broadcasts heard by the modems -> stored once each, logged; ``gateway cap received``.

The SIM bank hands over each message whole (its pages joined, :class:`sim_bank.CellBroadcast`).
The first hearing of a message identifier and serial number is logged at warning level --
it is what the national alert system just told everyone's phone, and operators should align
their own message with it -- with its text in full: a public broadcast, not a customer's
message, so log privacy does not hide it. Hearing it again (the network repeats it; every
modem in the cell hears it) only notes the modem.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from gateway.store import STORE_ERRORS
from gateway.store.cell_broadcast import CellBroadcastRow, HeardBroadcast

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store.protocols_cell_broadcast import CellBroadcastLog
    from sim_bank import CellBroadcast

log = structlog.get_logger("gateway.inbound.cell_broadcast")

DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


async def record(store: CellBroadcastLog, event: CellBroadcast, now: datetime | None = None) -> CellBroadcastRow | None:
    """Store what ``event``'s modem heard; the row (None when the store failed: logged)."""
    m = event.message
    heard = HeardBroadcast(m.message_id, m.serial, m.dcs, m.language, m.text, m.pages)
    try:
        row, new = await store.record_cell_broadcast(event.modem_id, heard, now)
    except STORE_ERRORS as exc:  # the network repeats it: the next hearing is stored
        log.error("cell_broadcast_unrecorded", modem_id=event.modem_id, message_id=m.message_id, error=str(exc))
        return None
    if new:
        log.warning(
            "cell_broadcast_received",
            modem_id=event.modem_id,
            message_id=m.message_id,
            serial=m.serial,
            message_code=m.message_code,
            update_number=m.update_number,
            language=m.language,
            pages=m.pages,
            alert=m.text,
        )
    else:
        log.debug("cell_broadcast_heard_again", modem_id=event.modem_id, message_id=m.message_id, serial=m.serial)
    return row


async def received_in(store: CellBroadcastLog, limit: int = DEFAULT_LIMIT) -> list[CellBroadcastRow]:
    """The messages heard, newest first (at most ``limit``)."""
    return await store.cell_broadcasts(max(1, min(limit, MAX_LIMIT)))


async def received(config: Config, limit: int = DEFAULT_LIMIT) -> list[CellBroadcastRow]:
    """``gateway cap received``: what the configured database heard."""
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await received_in(store, limit)
