"""The SIMs from the command line: their status as the daemon publishes it, USSD through the daemon."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from gateway.config import Config
from gateway.exceptions import GatewayError, NotFound, Wording
from gateway.lockfile import daemon_running
from gateway.store import Store, UssdRequestRow, utcnow
from gateway.store.configured import open_store

STALE_AFTER = 60.0  # seconds: a SIM status older than this means no daemon is publishing


async def sim_statuses(config: Config) -> list[dict[str, Any]]:
    """Each SIM as the running daemon last published it, with ``stale`` when it stopped publishing."""
    async with await open_store(config) as store:
        return await statuses_of(store)


async def statuses_of(store: Store) -> list[dict[str, Any]]:
    """:func:`sim_statuses` on an open store."""
    rows = await store.sim_statuses()
    now = utcnow()
    out = []
    for r in rows:
        age = (now - datetime.fromisoformat(r.updated_at)).total_seconds()
        out.append({**r.as_json(), "stale": age > STALE_AFTER})
    return out


async def ussd(config: Config, modem: str, code: str, kind: str, timeout: float) -> UssdRequestRow:
    """Have the daemon dial ``code`` on ``modem`` (or reply in, or cancel, the open session)."""
    if not daemon_running(config):
        raise GatewayError(Wording(
            "no daemon is running on {database}: USSD goes through the daemon's modems -- "
            "start it (gateway run), or point at its database with {choose_database}",
            {"database": str(config.database_path), "choose_database": "its config or database path"},
        ))  # fmt: skip
    async with await open_store(config) as store:
        known = {m.id for m in config.modems} | {r.modem_id for r in await store.sim_statuses()}
        if known and modem not in known:
            raise NotFound(f"no SIM {modem!r}; the SIMs are: {', '.join(sorted(known))}")
        request_id = await store.add_ussd(modem, code, kind)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await store.ussd_request(request_id)
            if row is not None and row.status not in ("queued", "running"):
                if row.status == "failed":
                    raise GatewayError(f"{modem}: {row.error}")
                return row
            await asyncio.sleep(0.2)
        await store.cancel_ussd(request_id)
    raise GatewayError(f"no answer in {timeout:.0f} s: is the daemon running on {config.database_path} (gateway run)?")
