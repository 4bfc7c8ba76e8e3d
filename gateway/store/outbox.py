"""The outbox: queue, claim, and what became of each send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta

import aiosqlite

from gateway.exceptions import StoreError
from gateway.store.base import LANES, StoreBase, _rows, iso, stamp, utcnow
from gateway.store.events import journal_outbox
from gateway.store.rows import DeliveryUpdate, OnAir, OutboxRow
from sim_bank.pdu import count_parts, report_state
from sim_bank.pdu_fields import same_address

REPORT_WINDOW = timedelta(days=3)  # a report later than this is not matched (references wrap at 256)


# Where a row goes back to after a failed or interrupted attempt: the queue -- unless it is a
# broadcast to a number that sent STOP since, or its campaign was cancelled or paused meanwhile.
_REQUEUE = """CASE
    WHEN lane = 'broadcast' AND phone IN (SELECT phone FROM customers WHERE opted_out = 1) THEN 'cancelled'
    WHEN campaign_id IS NOT NULL THEN COALESCE(
        (SELECT CASE status WHEN 'cancelled' THEN 'cancelled' WHEN 'paused' THEN 'held' ELSE 'queued' END
         FROM campaigns WHERE campaigns.id = outbox.campaign_id), 'queued')
    ELSE 'queued' END"""


class OutboxMixin(StoreBase):
    async def enqueue(
        self,
        phone: str,
        text: str,
        *,
        lane: str = "notification",
        modem_hint: str | None = None,
        ticket_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        if lane not in LANES:
            raise StoreError(f"unknown lane {lane!r}")
        async with self._write() as db:
            return await insert_outbox(db, phone, text, lane, stamp(now), modem_hint=modem_hint, ticket_id=ticket_id)

    async def claim(
        self,
        assign: Callable[[list[OutboxRow]], dict[int, str]],
        now: datetime | None = None,
        lookahead: int = 200,
        *,
        waiting: int = 0,
    ) -> list[OutboxRow]:
        """Take queued rows for sending: ``assign`` picks rows and their modems (pure, see dispatcher).

        ``assign`` sees, in priority order, up to ``lookahead`` rows that are due by the wall clock
        (never tried, or their retry time has come) and besides them up to ``waiting`` rows still
        waiting for their retry time, the soonest first within each lane: rows in backoff never
        hide a due row, however many there are, and ``assign`` may still decide on them (the
        dispatcher times retries on the monotonic clock, which a wall clock stepped back does not
        hold up; a failed reply may go to another SIM at once)."""
        at = stamp(now)
        async with self._write() as db:
            async with db.execute(
                """SELECT * FROM outbox WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
                   ORDER BY priority, id LIMIT ?""",
                (at, lookahead),
            ) as cur:
                candidates = _rows(OutboxRow, await cur.fetchall())
            if waiting > 0:
                async with db.execute(
                    """SELECT * FROM outbox WHERE status = 'queued' AND next_attempt_at > ?
                       ORDER BY priority, next_attempt_at, id LIMIT ?""",
                    (at, waiting),
                ) as cur:
                    candidates += _rows(OutboxRow, await cur.fetchall())
                candidates.sort(key=lambda r: (r.priority, r.id))
            plan = assign(candidates) if candidates else {}
            claimed = []
            for row in candidates:
                modem = plan.get(row.id)
                if modem is None:
                    continue
                # parts already on air only join the rest when sent from the same SIM
                await db.execute(
                    """UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1,
                           parts_sent = CASE WHEN modem_id = ? THEN parts_sent ELSE 0 END, modem_id = ?
                       WHERE id = ? AND status = 'queued'""",
                    (at, modem, modem, row.id),
                )
                claimed.append(_claimed(row, modem, at))
        return claimed

    async def mark_sent(self, row_id: int, on_air: OnAir, parts: int, now: datetime | None = None) -> None:
        """Every part is on air (+CMGS answered for each)."""
        at = stamp(now)
        async with self._write() as db:
            await db.execute(
                """UPDATE outbox SET status = 'sent', modem_id = ?, parts_sent = ?, sent_at = ?, last_error = NULL,
                       refs = CASE WHEN ? = '' THEN refs ELSE COALESCE(refs || ',', '') || ? END
                   WHERE id = ?""",
                (on_air.modem_id, parts, at, on_air.refs_text, on_air.refs_text, row_id),
            )
            await journal_outbox(db, self.site, "message.sent", row_id, at)
            await _record_on_air(db, self.site, row_id, on_air, at)

    async def mark_retry(
        self,
        row_id: int,
        error: str,
        retry_at: datetime | None,
        parts_sent: int,
        on_air: OnAir | None = None,
        *,
        code: str,
        now: datetime | None = None,
    ) -> None:
        """A temporary failure: back in the queue (at ``retry_at``), free to go out on another SIM;
        parts already on air are remembered (they tie the rest to the SIM that sent them)."""
        refs = on_air.refs_text if on_air else ""
        async with self._write() as db:
            await db.execute(
                f"""UPDATE outbox SET status = {_REQUEUE}, last_error = ?, next_attempt_at = ?, parts_sent = ?,
                       modem_hint = NULL,
                       refs = CASE WHEN ? = '' THEN refs ELSE COALESCE(refs || ',', '') || ? END
                   WHERE id = ?""",
                (error, iso(retry_at), parts_sent, refs, refs, row_id),
            )
            await _count_error(db, row_id, code, stamp(now))
            if on_air is not None:
                await _record_on_air(db, self.site, row_id, on_air, stamp(now))

    async def mark_unclaimed(self, row_id: int) -> None:
        """The modem was gone before anything was written: no attempt is counted."""
        async with self._write() as db:
            await db.execute(
                f"""UPDATE outbox SET status = {_REQUEUE}, attempts = MAX(attempts - 1, 0)
                   WHERE id = ? AND status = 'sending'""",
                (row_id,),
            )

    async def mark_final(
        self,
        row_id: int,
        status: str,
        error: str,
        on_air: OnAir | None = None,
        *,
        code: str | None,
        now: datetime | None = None,
    ) -> None:
        """``failed`` (the message cannot be sent) or ``unknown`` (it may have gone out: never resent blindly).
        ``code``: the +CMS/+CME code of a send that was tried and failed (``"none"`` for a timeout
        or a modem gone), counted in send_errors; ``None`` for a message given up before any SIM
        tried it."""
        assert status in ("failed", "unknown")
        async with self._write() as db:
            await db.execute("UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error, row_id))
            if status == "failed":
                await journal_outbox(db, self.site, "message.failed", row_id, stamp(now))
            if code is not None:
                await _count_error(db, row_id, code, stamp(now))
            if on_air is not None:
                await _record_on_air(db, self.site, row_id, on_air, stamp(now))

    async def apply_report(
        self,
        modem_id: str,
        reference: int,
        recipient: str | None,
        status: int,
        now: datetime | None = None,
    ) -> DeliveryUpdate | None:
        """Match a status report to the part it is about and update the message.

        The part is the most recent one sent from ``modem_id`` with this reference
        to this recipient within ``REPORT_WINDOW``. TP-ST 0x00-0x1F: delivered;
        0x20-0x3F: the SMSC is still trying (recorded, nothing final); above:
        failed. A message is ``delivered`` when all its parts are, ``failed``
        (undelivered) as soon as one part finally fails. A report that matches no
        recorded part yet is kept and matched when the part is recorded.
        """
        at = now or utcnow()
        async with self._write() as db:
            update = await _apply_report(db, self.site, modem_id, reference, recipient, status, at)
            if update is None:
                await db.execute(
                    """INSERT INTO pending_reports (modem_id, reference, recipient, status, received_at)
                       VALUES (?, ?, ?, ?, ?)""",
                    (modem_id, reference, recipient, status, stamp(at)),
                )
        return update

    async def expire_pending_reports(self, older_than: datetime) -> int:
        async with self._write() as db:
            cur = await db.execute("DELETE FROM pending_reports WHERE received_at < ?", (stamp(older_than),))
            return cur.rowcount

    async def recover(self) -> int:
        """At start-up: rows a crash left ``sending`` go back to the queue (they may go out twice)."""
        async with self._write() as db:
            cur = await db.execute(
                f"""UPDATE outbox SET status = {_REQUEUE}, last_error = 'interrupted by a restart'
                    WHERE status = 'sending'"""
            )
            return cur.rowcount

    async def next_retry_at(self, after: datetime | None = None) -> datetime | None:
        """When the next queued row waiting for a retry falls due (after ``after``, default now)."""
        async with self._r.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued' AND next_attempt_at > ?",
            (stamp(after),),
        ) as cur:
            row = await cur.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def outbox(self, status: str | None = None, limit: int = 50, ticket_id: str | None = None) -> list[OutboxRow]:
        return await self._select(OutboxRow, "outbox", {"status": status, "ticket_id": ticket_id}, "id DESC", limit)


def _claimed(row: OutboxRow, modem: str, at: str) -> OutboxRow:
    values = {f.name: getattr(row, f.name) for f in fields(OutboxRow)}
    values.update(
        status="sending",
        modem_id=modem,
        claimed_at=at,
        attempts=row.attempts + 1,
        parts_sent=row.parts_sent if row.modem_id == modem else 0,
    )
    return OutboxRow(**values)


async def insert_outbox(
    db: aiosqlite.Connection,
    phone: str,
    text: str,
    lane: str,
    at: str,
    *,
    modem_hint: str | None = None,
    ticket_id: str | None = None,
    message_id: int | None = None,
) -> int:
    """A new outbox row. A broadcast to a number that sent STOP is stored cancelled: it is
    visible (and counted) but never sent; replies and notifications always go."""
    status, error = "queued", None
    if lane == "broadcast":
        async with db.execute("SELECT 1 FROM customers WHERE phone = ? AND opted_out = 1", (phone,)) as cur:
            if await cur.fetchone() is not None:
                status, error = "cancelled", "opted out (STOP)"
    cur = await db.execute(
        """INSERT INTO outbox (phone, text, lane, priority, parts, modem_hint, ticket_id, message_id, created_at,
                               status, last_error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (phone, text, lane, LANES[lane], count_parts(text), modem_hint, ticket_id, message_id, at, status, error),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


async def _record_on_air(db: aiosqlite.Connection, site: str, row_id: int, on_air: OnAir, at: str) -> None:
    """Count the parts against the SIM's quota and keep each reference for delivery reports.

    Parts an earlier attempt sent from another SIM are superseded: a handset joins the
    parts of one sender only, so they cannot settle this message. A part whose +CMGS never
    came is kept with reference -1 (it counts against the minute, matches no report).
    Reports that arrived before these parts were recorded are matched now.
    """
    if on_air.parts:
        await db.execute(
            """INSERT INTO sim_usage (modem_id, day, lane, parts) VALUES (?, ?, ?, ?)
               ON CONFLICT (modem_id, day, lane) DO UPDATE SET parts = sim_usage.parts + excluded.parts""",
            (on_air.modem_id, on_air.day, on_air.lane, on_air.parts),
        )
    await db.execute(
        "UPDATE outbox_parts SET status = 'superseded' WHERE outbox_id = ? AND modem_id <> ?",
        (row_id, on_air.modem_id),
    )
    refs = list(on_air.references) + [-1] * max(0, on_air.parts - len(on_air.references))
    await db.executemany(
        "INSERT INTO outbox_parts (outbox_id, part, modem_id, reference, sent_at) VALUES (?, ?, ?, ?, ?)",
        [(row_id, on_air.first_part + i, on_air.modem_id, ref, at) for i, ref in enumerate(refs)],
    )
    if on_air.references:
        marks = ", ".join("?" for _ in on_air.references)
        async with db.execute(
            f"""SELECT id, reference, recipient, status, received_at FROM pending_reports
                WHERE modem_id = ? AND reference IN ({marks}) ORDER BY id""",
            (on_air.modem_id, *on_air.references),
        ) as cur:
            early = list(await cur.fetchall())
        for report in early:
            received = datetime.fromisoformat(report["received_at"])
            if await _apply_report(
                db, site, on_air.modem_id, report["reference"], report["recipient"], report["status"], received
            ):
                await db.execute("DELETE FROM pending_reports WHERE id = ?", (report["id"],))


async def _apply_report(
    db: aiosqlite.Connection, site: str, modem_id: str, reference: int, recipient: str | None, status: int, at: datetime
) -> DeliveryUpdate | None:
    when = stamp(at)
    async with db.execute(
        """SELECT p.id, p.outbox_id, o.phone, o.parts, o.status FROM outbox_parts p
           JOIN outbox o ON o.id = p.outbox_id
           WHERE p.modem_id = ? AND p.reference = ? AND p.sent_at >= ? AND p.status IN ('sent', 'pending')
           ORDER BY p.sent_at DESC, p.id DESC LIMIT 16""",
        (modem_id, reference, stamp(at - REPORT_WINDOW)),
    ) as cur:
        candidates = list(await cur.fetchall())
    match = next((c for c in candidates if same_address(c["phone"], recipient)), None)
    if match is None:
        return None
    part_status = report_state(status)
    await db.execute(
        "UPDATE outbox_parts SET status = ?, report = ?, reported_at = ? WHERE id = ?",
        (part_status, status, when, match["id"]),
    )
    async with db.execute(
        """SELECT status, COUNT(DISTINCT part) FROM outbox_parts
           WHERE outbox_id = ? AND status <> 'superseded' GROUP BY status""",
        (match["outbox_id"],),
    ) as cur:
        by_status = {row[0]: row[1] for row in await cur.fetchall()}
    outcome = None
    if match["status"] in ("sent", "unknown"):
        if by_status.get("failed"):
            outcome = "failed"
            await db.execute(
                "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?",
                (f"not delivered (status report 0x{status:02X})", match["outbox_id"]),
            )
        elif by_status.get("delivered", 0) >= match["parts"]:
            outcome = "delivered"
            await db.execute(
                "UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE id = ?", (when, match["outbox_id"])
            )
    if outcome is not None:
        await journal_outbox(db, site, f"message.{outcome}", match["outbox_id"], when)
    return DeliveryUpdate(match["outbox_id"], part_status, outcome)


async def _count_error(db: aiosqlite.Connection, row_id: int, code: str, at: str) -> None:
    """One more failed attempt for the SIM that made it (the row's SIM at claim time)."""
    await db.execute(
        """INSERT INTO send_errors (modem_id, code, count, last_at)
           SELECT COALESCE(modem_id, ''), ?, 1, ? FROM outbox WHERE id = ?
           ON CONFLICT (modem_id, code) DO UPDATE SET count = send_errors.count + 1, last_at = excluded.last_at""",
        (code, at, row_id),
    )
