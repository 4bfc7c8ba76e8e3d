"""What the gateway keeps about its SIMs: quota usage, status for operators, USSD requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.events import insert_events
from gateway.store.rows import SimStatusRow, UssdRequestRow


class SimsMixin(StoreBase):
    # ------------------------------------------------------------ quota usage

    async def usage_on(self, day: str) -> dict[str, dict[str, int]]:
        """Parts each SIM sent on ``day`` (its local calendar day), by lane."""
        async with self._r.execute("SELECT modem_id, lane, parts FROM sim_usage WHERE day = ?", (day,)) as cur:
            out: dict[str, dict[str, int]] = {}
            for modem_id, lane, parts in await cur.fetchall():
                out.setdefault(modem_id, {})[lane] = int(parts)
        return out

    async def parts_since(self, since: datetime) -> list[tuple[str, str]]:
        """(modem_id, sent_at) of every part on air since ``since`` (the per-minute windows at start)."""
        async with self._r.execute(
            "SELECT modem_id, sent_at FROM outbox_parts WHERE sent_at > ? ORDER BY sent_at", (stamp(since),)
        ) as cur:
            return [(r[0], r[1]) for r in await cur.fetchall()]

    async def waiting_per_modem(self) -> dict[str, int]:
        """Queued rows that prefer each SIM (replies to it, half-sent long messages)."""
        async with self._r.execute(
            """SELECT COALESCE(CASE WHEN parts_sent > 0 THEN modem_id END, modem_hint) AS sim, COUNT(*)
               FROM outbox WHERE status = 'queued' GROUP BY sim"""
        ) as cur:
            return {r[0]: int(r[1]) for r in await cur.fetchall() if r[0]}

    # ------------------------------------------------------------ SIM status

    async def save_sim_status(self, rows: Sequence[SimStatusRow]) -> None:
        """Publish each SIM's status; a SIM whose state changed (or that is new) is journalled
        as ``sim.state`` at its ``updated_at`` (the row as ``gateway modems --json`` shows it,
        and ``previous_state``)."""
        names = [f.name for f in fields(SimStatusRow)]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "modem_id")
        async with self._write() as db:
            async with db.execute("SELECT modem_id, state FROM sim_status") as cur:
                before = {str(r[0]): str(r[1]) for r in await cur.fetchall()}
            for r in rows:
                if before.get(r.modem_id) != r.state:
                    change = {**r.as_json(), "previous_state": before.get(r.modem_id)}
                    await insert_events(db, self.site, r.updated_at, [("sim.state", change)])
            await db.executemany(
                f"""INSERT INTO sim_status ({", ".join(names)}) VALUES ({", ".join("?" for _ in names)})
                    ON CONFLICT (modem_id) DO UPDATE SET {updates}""",
                [[getattr(r, n) for n in names] for r in rows],
            )

    async def sim_statuses(self) -> list[SimStatusRow]:
        async with self._r.execute("SELECT * FROM sim_status ORDER BY modem_id") as cur:
            return _rows(SimStatusRow, await cur.fetchall())

    # ------------------------------------------------------------ USSD

    async def add_ussd(self, modem_id: str, request: str, kind: str = "dial") -> int:
        async with self._write() as db:
            cur = await db.execute(
                "INSERT INTO ussd_requests (modem_id, request, kind, created_at) VALUES (?, ?, ?, ?)",
                (modem_id, request, kind, stamp()),
            )
            return int(cur.lastrowid or 0)

    async def fail_interrupted_ussd(self) -> int:
        """At start-up: requests a crash left running may or may not have been dialled."""
        async with self._write() as db:
            cur = await db.execute(
                """UPDATE ussd_requests SET status = 'failed', error = 'interrupted by a restart'
                   WHERE status = 'running'"""
            )
            return cur.rowcount

    async def queued_ussd(self) -> list[UssdRequestRow]:
        async with self._r.execute("SELECT * FROM ussd_requests WHERE status = 'queued' ORDER BY id") as cur:
            return _rows(UssdRequestRow, await cur.fetchall())

    async def claim_ussd(self, request_id: int) -> bool:
        """Take a queued request for dialling; False if it was taken or cancelled meanwhile."""
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE ussd_requests SET status = 'running' WHERE id = ? AND status = 'queued'", (request_id,)
            )
            return cur.rowcount == 1

    async def finish_ussd(
        self,
        request_id: int,
        *,
        response: str | None,
        session_open: bool,
        error: str | None = None,
        now: datetime | None = None,
    ) -> None:
        async with self._write() as db:
            await db.execute(
                """UPDATE ussd_requests SET status = ?, response = ?, session_open = ?, error = ?, done_at = ?
                   WHERE id = ?""",
                ("failed" if error else "done", response, int(session_open), error, stamp(now), request_id),
            )

    async def cancel_ussd(self, request_id: int) -> None:
        """Nobody waits for it any more: a daemon started later must not dial it."""
        async with self._write() as db:
            await db.execute(
                "UPDATE ussd_requests SET status = 'failed', error = 'nobody answered in time' "
                "WHERE id = ? AND status = 'queued'",
                (request_id,),
            )

    async def ussd_request(self, request_id: int) -> UssdRequestRow | None:
        async with self._r.execute("SELECT * FROM ussd_requests WHERE id = ?", (request_id,)) as cur:
            return _row(UssdRequestRow, await cur.fetchone())
