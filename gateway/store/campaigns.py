"""Broadcast campaigns: their rows in the outbox, pausing, cancelling, staged runs.

Creating a campaign copies the audience (gathered by :mod:`gateway.store.audience`)
into the outbox, in chunks, as rows ``held`` for the campaign: the daemon releases
them into the queue at the campaign's pace and inside its window
(:mod:`gateway.broadcast.pacing`), so customers' replies never wait behind a
million broadcast rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import aiosqlite

from gateway.store import audit
from gateway.store.audience import OPTED_OUT
from gateway.store.base import StoreBase, _row, stamp, utcnow
from gateway.store.rows_broadcast import CampaignRow, NewCampaign

CHUNK = 50_000  # rows per transaction when a campaign is written: the daemon waits at most this long
RUN_CHUNK = 10_000  # rows per transaction when the daemon writes a staged run or cancels (replies wait on it)
ACTIVE = ("held", "queued", "sending")


class CampaignsMixin(StoreBase):
    # ------------------------------------------------------------------ campaigns

    async def create_campaign(
        self, new: NewCampaign, now: datetime | None = None, on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Write the campaign and its first run's rows (``held``) from the audience built last.
        The campaign is ``creating`` until every row is in; then ``running`` (or, when
        ``new.approval``, ``pending_approval``: nothing is released until :meth:`approve_campaign`).
        A number that sent STOP since the audience was gathered is left out here too. Audited
        as by ``new.created_by``."""
        at = stamp(now)
        started = now or utcnow()
        async with self._write() as db:
            async with db.execute("SELECT COUNT(*) FROM temp.audience") as cur:
                (recipients,) = await cur.fetchone() or (0,)
            next_run = stamp(started + timedelta(seconds=new.every_s)) if new.every_s and new.runs_total > 1 else None
            cur = await db.execute(
                """INSERT INTO campaigns (template, variables, texts, audience, status, recipients, opted_out, rate,
                                          window, every_s, runs_total, runs_done, next_run_at, until_at, creator,
                                          created_by, created_at)
                   VALUES (?, ?, ?, ?, 'creating', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)""",
                (
                    new.template,
                    json.dumps(new.variables, ensure_ascii=False),
                    json.dumps(new.texts, ensure_ascii=False),
                    json.dumps(new.audience, ensure_ascii=False),
                    recipients,
                    new.opted_out,
                    new.rate,
                    new.window,
                    new.every_s,
                    new.runs_total,
                    next_run,
                    stamp(new.until_at) if new.until_at else None,
                    new.creator,
                    new.created_by,
                    at,
                ),
            )
            campaign_id = int(cur.lastrowid or 0)
        async with (
            self._scratch() as scratch,
            scratch.execute("SELECT COALESCE(MIN(id), 1), COALESCE(MAX(id), 0) FROM temp.audience") as cur,
        ):
            low, high = await cur.fetchone() or (1, 0)
        text_case = "CASE language " + " ".join("WHEN ? THEN ?" for _ in new.texts) + " END"
        parts_case = "CASE language " + " ".join("WHEN ? THEN ?" for _ in new.parts) + " END"
        text_args = [x for lang, text in new.texts.items() for x in (lang, text)]
        parts_args = [x for lang, n in new.parts.items() for x in (lang, n)]
        start = low
        while start <= high:
            async with self._write() as db:
                cur = await db.execute(
                    f"""INSERT INTO outbox (phone, text, lane, priority, parts, status, campaign_id, run, created_at)
                        SELECT phone, {text_case}, 'broadcast', 2, {parts_case}, 'held', ?, 1, ?
                        FROM temp.audience WHERE id >= ? AND id < ? AND {OPTED_OUT}
                          AND EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND status IN ('creating', 'paused'))
                        ORDER BY id""",
                    (*text_args, *parts_args, campaign_id, at, start, start + CHUNK, campaign_id),
                )
                if on_progress is not None:
                    on_progress(cur.rowcount)
            start += CHUNK
        # waiting for approval: also a campaign paused while it was written (resuming it must not skip that)
        then = "WHEN 'creating' THEN 'pending_approval' WHEN 'paused' THEN 'pending_approval'" if new.approval else (
            "WHEN 'creating' THEN 'running'"
        )  # fmt: skip
        async with self._write() as db:
            await db.execute(
                f"""UPDATE campaigns SET creator = NULL, status = CASE status {then} ELSE status END,
                       recipients = (SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND run = 1)
                    WHERE id = ?""",
                (campaign_id, campaign_id),
            )
            async with db.execute("SELECT status, recipients FROM campaigns WHERE id = ?", (campaign_id,)) as cur:
                status, recipients = await cur.fetchone() or ("", 0)
            detail = {"template": new.template, "recipients": recipients, "status": status}
            await audit.record(db, audit.acting(new.created_by or "unknown"), "broadcast.created", str(campaign_id),
                               detail, now=now)  # fmt: skip
        return campaign_id

    async def approve_campaign(self, campaign_id: int, *, actor: str, now: datetime | None = None) -> bool:
        """Let a campaign waiting as ``pending_approval`` go (``running``), approved by ``actor``,
        who is not its creator (audited); False when it is not waiting or ``actor`` made it. A
        staged update's next run is due ``every`` from now (not from when it was written)."""
        at = now or utcnow()
        async with self._write() as db:
            async with db.execute(
                "SELECT every_s, next_run_at FROM campaigns WHERE id = ? AND status = 'pending_approval'",
                (campaign_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return False
            every, next_run = row
            following = stamp(at + timedelta(seconds=float(every))) if next_run is not None and every else None
            cur = await db.execute(
                """UPDATE campaigns SET status = 'running', approved_by = ?, approved_at = ?, next_run_at = ?
                   WHERE id = ? AND status = 'pending_approval' AND COALESCE(created_by, '') != ?""",
                (actor, stamp(at), following, campaign_id, actor),
            )
            if not cur.rowcount:
                return False
            await audit.record(db, audit.acting(actor), "broadcast.approved", str(campaign_id), now=now)
            return True

    async def campaigns(self, limit: int = 50) -> list[CampaignRow]:
        return await self._select(CampaignRow, "campaigns", {}, "id DESC", limit)

    async def campaign(self, campaign_id: int) -> CampaignRow | None:
        async with self._r.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)) as cur:
            return _row(CampaignRow, await cur.fetchone())

    async def campaign_counts(self, campaign_id: int) -> dict[str, int]:
        """Messages of the campaign (all runs) by outbox status."""
        async with self._r.execute(
            "SELECT status, COUNT(*) FROM outbox WHERE campaign_id = ? GROUP BY status", (campaign_id,)
        ) as cur:
            return {str(k): int(v) for k, v in await cur.fetchall()}

    async def sent_since(self, campaign_id: int, since: datetime) -> int:
        async with self._r.execute(
            "SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND sent_at > ?", (campaign_id, stamp(since))
        ) as cur:
            return int((await cur.fetchone() or (0,))[0])

    async def pause_campaign(self, campaign_id: int, *, actor: str | None = None) -> bool:
        """Stop releasing its messages and take back the ones queued (sends in flight finish);
        audited as by ``actor``."""
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE campaigns SET status = 'paused' WHERE id = ? AND status IN ('running', 'creating')",
                (campaign_id,),
            )
            if cur.rowcount:
                await db.execute(
                    "UPDATE outbox SET status = 'held' WHERE campaign_id = ? AND status = 'queued'", (campaign_id,)
                )
                await _record(db, actor, "broadcast.paused", campaign_id)
            return bool(cur.rowcount)

    async def resume_campaign(self, campaign_id: int, *, actor: str | None = None) -> bool:
        async with self._write() as db:
            cur = await db.execute("UPDATE campaigns SET status = 'running' WHERE id = ? AND status = 'paused'",
                                   (campaign_id,))  # fmt: skip
            if cur.rowcount:
                await _record(db, actor, "broadcast.resumed", campaign_id)
            return bool(cur.rowcount)

    async def cancel_campaign(
        self, campaign_id: int, now: datetime | None = None, *, actor: str | None = None
    ) -> int | None:
        """Cancel what has not gone yet; None when there is no such campaign or it is over.
        Held rows of a cancelled campaign are never released, so the rows are cancelled in
        short transactions (and the daemon finishes the job if this is interrupted)."""
        async with self._write() as db:
            cur = await db.execute(
                """UPDATE campaigns SET status = 'cancelled', done_at = ?, next_run_at = NULL, creator = NULL
                   WHERE id = ? AND status IN ('running', 'paused', 'creating', 'pending_approval')""",
                (stamp(now), campaign_id),
            )
            if not cur.rowcount:
                return None
            await _record(db, actor, "broadcast.cancelled", campaign_id, now)
        return await self._finish_cancelling(campaign_id, "campaign cancelled")

    async def _finish_cancelling(self, campaign_id: int, reason: str) -> int:
        total = 0
        while True:
            async with self._write() as db:
                cur = await db.execute(
                    """UPDATE outbox SET status = 'cancelled', last_error = ?
                       WHERE id IN (SELECT id FROM outbox WHERE campaign_id = ? AND status IN ('held', 'queued')
                                    LIMIT ?)""",
                    (reason, campaign_id, RUN_CHUNK),
                )
                total += cur.rowcount
                if cur.rowcount < RUN_CHUNK:
                    return total

    async def tidy_campaigns(self, alive: Callable[[str], bool], now: datetime | None = None) -> list[int]:
        """Campaigns whose writing was interrupted (the CLI killed mid-way: only part of the
        audience is in) are cancelled rather than sent to some; cancelled campaigns with rows
        still waiting are finished. Returns the ids of the abandoned ones."""
        async with self._r.execute(
            "SELECT id, creator FROM campaigns WHERE status = 'creating' AND creator IS NOT NULL"
        ) as cur:  # fmt: skip
            creating = [(int(i), str(c)) for i, c in await cur.fetchall()]
        abandoned = [cid for cid, creator in creating if not alive(creator)]
        for cid in abandoned:
            async with self._write() as db:
                await db.execute(
                    "UPDATE campaigns SET status = 'cancelled', done_at = ?, creator = NULL WHERE id = ?",
                    (stamp(now), cid),
                )
            await self._finish_cancelling(cid, "the broadcast command stopped before every recipient was queued")
        async with self._r.execute(
            """SELECT DISTINCT c.id FROM campaigns c
               WHERE c.status = 'cancelled'
                 AND EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = c.id AND o.status IN ('held', 'queued'))"""
        ) as cur:
            leftover = [int(r[0]) for r in await cur.fetchall()]
        for cid in leftover:
            await self._finish_cancelling(cid, "campaign cancelled")
        return abandoned

    # ------------------------------------------------------------------ the daemon's side

    async def running_campaigns(self) -> list[CampaignRow]:
        return await self._select(CampaignRow, "campaigns", {"status": "running"}, "id", 1000)

    async def queued_for(self, campaign_id: int) -> int:
        async with self._r.execute(
            "SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND status = 'queued'", (campaign_id,)
        ) as cur:
            return int((await cur.fetchone() or (0,))[0])

    async def release_held(self, campaign_id: int, count: int) -> int:
        """Move the next ``count`` held rows of a running campaign into the queue."""
        if count <= 0:
            return 0
        async with self._write() as db:
            cur = await db.execute(
                """UPDATE outbox SET status = 'queued'
                   WHERE id IN (SELECT id FROM outbox WHERE campaign_id = ? AND status = 'held' ORDER BY id LIMIT ?)
                     AND (SELECT status FROM campaigns WHERE id = ?) = 'running'""",
                (campaign_id, count, campaign_id),
            )
            return int(cur.rowcount)

    async def hold_queued(self, campaign_id: int) -> int:
        """Its window closed: take its queued rows back (those in flight finish)."""
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'held' WHERE campaign_id = ? AND status = 'queued'", (campaign_id,)
            )
            return int(cur.rowcount)

    async def start_due_run(self, campaign_id: int, now: datetime | None = None) -> int | None:
        """A staged update's next run, when due: the first run's recipients again, minus numbers
        that sent STOP since and minus those whose message from an earlier run has not gone yet
        (it keeps its place: the rest of the audience is served before anyone gets a repeat).
        Written in short transactions with a resumable mark; returns the rows added, or None
        when no run was due or in progress."""
        at_dt = now or utcnow()
        at = stamp(at_dt)
        async with self._write() as db:
            async with db.execute(
                "SELECT runs_done, runs_total, every_s, next_run_at, until_at, copying FROM campaigns "
                "WHERE id = ? AND status = 'running'",
                (campaign_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            done, total, every, next_run, until, copying = row
            if copying is None:
                if next_run is None or next_run > at or done >= total:
                    return None
                if until is not None and next_run > until:  # past --until (the daemon was down): no more runs
                    await db.execute(
                        "UPDATE campaigns SET runs_total = runs_done, next_run_at = NULL WHERE id = ?", (campaign_id,)
                    )
                    return None
                following = at_dt + timedelta(seconds=float(every or 0))
                nxt = stamp(following) if done + 1 < total and (until is None or stamp(following) <= until) else None
                await db.execute(
                    "UPDATE campaigns SET runs_done = ?, next_run_at = ?, copying = 0 WHERE id = ?",
                    (done + 1, nxt, campaign_id),
                )
                done += 1
        added = 0
        while True:
            async with self._write() as db:
                async with db.execute("SELECT copying FROM campaigns WHERE id = ?", (campaign_id,)) as cur:
                    mark = (await cur.fetchone() or (None,))[0]
                if mark is None:
                    return added
                async with db.execute(
                    """SELECT MAX(id) FROM (SELECT id FROM outbox WHERE campaign_id = ? AND run = 1 AND id > ?
                                            ORDER BY id LIMIT ?)""",
                    (campaign_id, mark, RUN_CHUNK),
                ) as cur:
                    high = (await cur.fetchone() or (None,))[0]
                if high is None:
                    await db.execute("UPDATE campaigns SET copying = NULL WHERE id = ?", (campaign_id,))
                    return added
                cur = await db.execute(
                    f"""INSERT INTO outbox (phone, text, lane, priority, parts, status, campaign_id, run, created_at)
                        SELECT phone, text, lane, priority, parts, 'held', campaign_id, ?, ?
                        FROM outbox o WHERE campaign_id = ? AND run = 1 AND id > ? AND id <= ? AND {OPTED_OUT}
                          AND NOT EXISTS (SELECT 1 FROM outbox w
                                          WHERE w.phone = o.phone AND w.campaign_id = o.campaign_id
                                            AND w.status IN ('held', 'queued', 'sending'))
                        ORDER BY id""",
                    (done, at, campaign_id, mark, high),
                )
                added += cur.rowcount
                await db.execute("UPDATE campaigns SET copying = ? WHERE id = ?", (high, campaign_id))

    async def finish_if_done(self, campaign_id: int, now: datetime | None = None) -> bool:
        async with self._write() as db:
            cur = await db.execute(
                f"""UPDATE campaigns SET status = 'done', done_at = ?
                    WHERE id = ? AND status = 'running' AND runs_done >= runs_total AND copying IS NULL
                      AND NOT EXISTS (SELECT 1 FROM outbox WHERE campaign_id = ?
                                      AND status IN ({", ".join(f"'{s}'" for s in ACTIVE)}))""",
                (stamp(now), campaign_id, campaign_id),
            )
            return bool(cur.rowcount)

    # ------------------------------------------------------------------ for estimates

    async def measured_rates(self, since: datetime, min_parts: int = 10, idle_gap: float = 30.0) -> dict[str, float]:
        """Parts a second each SIM sends while it is busy: the gaps between its sends since
        ``since``, leaving out gaps longer than ``idle_gap`` (it had nothing to send then)."""
        async with self._r.execute(
            "SELECT modem_id, sent_at FROM outbox_parts WHERE sent_at > ? ORDER BY modem_id, sent_at LIMIT 20000",
            (stamp(since),),
        ) as cur:
            rows = await cur.fetchall()
        times: dict[str, list[float]] = {}
        for modem_id, sent_at in rows:
            times.setdefault(str(modem_id), []).append(datetime.fromisoformat(sent_at).timestamp())
        out = {}
        for modem_id, ts in times.items():
            gaps = [b - a for a, b in itertools.pairwise(ts) if 0 <= b - a <= idle_gap]
            busy = sum(gaps)
            if len(gaps) + 1 >= min_parts and busy > 0:
                out[modem_id] = len(gaps) / busy
        return out

    async def parts_waiting(self, exclude: int | None = None) -> int:
        """SMS parts of running campaigns still to go (they are ahead of a new campaign)."""
        async with self._r.execute(
            """SELECT COALESCE(SUM(o.parts), 0) FROM outbox o JOIN campaigns c ON c.id = o.campaign_id
               WHERE c.status = 'running' AND o.status IN ('held', 'queued') AND c.id != ?""",
            (exclude or 0,),
        ) as cur:
            return int((await cur.fetchone() or (0,))[0])


async def _record(db: aiosqlite.Connection, actor: str | None, action: str, campaign_id: int,
                  now: datetime | None = None) -> None:  # fmt: skip
    """The audit entry of a person's change to a campaign (none for the daemon's own)."""
    if actor is not None:
        await audit.record(db, audit.acting(actor), action, str(campaign_id), now=now)
