"""Keeping the database small and fast for years: purges by date, in short transactions."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.store.base import StoreBase, stamp, utcnow

PURGE_BATCH = 5000  # rows a transaction: the daemon's writes never wait long behind a purge
FINISHED = ("sent", "delivered", "failed", "unknown", "cancelled")


class MaintenanceMixin(StoreBase):
    async def purge(self, inbound_pdus_days: int, outbox_days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete raw PDUs of messages already made (or duplicates, reports, undecodable ones)
        and finished outbox rows (with their parts) older than the given days; 0 keeps them.
        Returns the rows deleted per table."""
        now = now or utcnow()
        out = {"inbound_pdus": 0, "outbox": 0, "outbox_parts": 0, "pending_reports": 0}
        if inbound_pdus_days > 0:
            cutoff = stamp(now - timedelta(days=inbound_pdus_days))
            out["inbound_pdus"] = await self._purge_batches(
                """DELETE FROM inbound_pdus WHERE id IN (
                       SELECT id FROM inbound_pdus WHERE received_at < ?
                         AND (message_id IS NOT NULL OR kind != 'part') LIMIT ?)""",
                cutoff,
            )
            out["pending_reports"] = await self._purge_batches(
                """DELETE FROM pending_reports WHERE id IN (
                       SELECT id FROM pending_reports WHERE received_at < ? LIMIT ?)""",
                cutoff,
            )
        if outbox_days > 0:
            cutoff = stamp(now - timedelta(days=outbox_days))
            finished = ", ".join(f"'{s}'" for s in FINISHED)
            while True:
                async with self._write() as db:
                    async with db.execute(
                        f"SELECT id FROM outbox WHERE created_at < ? AND status IN ({finished}) LIMIT ?",
                        (cutoff, PURGE_BATCH),
                    ) as cur:
                        ids = [r[0] for r in await cur.fetchall()]
                    if not ids:
                        break
                    marks = ", ".join("?" for _ in ids)
                    cur = await db.execute(f"DELETE FROM outbox_parts WHERE outbox_id IN ({marks})", ids)
                    out["outbox_parts"] += cur.rowcount
                    cur = await db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
                    out["outbox"] += cur.rowcount
        return out

    async def _purge_batches(self, sql: str, cutoff: str) -> int:
        total = 0
        while True:
            async with self._write() as db:
                cur = await db.execute(sql, (cutoff, PURGE_BATCH))
                total += cur.rowcount
                if cur.rowcount < PURGE_BATCH:
                    return total
