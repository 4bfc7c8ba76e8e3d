"""Outages: their records, stages (each with the notice it sent), the tickets linked to them,
and what the conversation and the early warning read (issue 16; rules in :mod:`gateway.outages`).

An outage's areas are a JSON list; the few active outages are read whole and matched in
Python (no JSON1: the SQL stays what PostgreSQL also runs). Restoring or cancelling an outage
resolves its open linked tickets in the same transaction, each with its history row (which
the CRM gets as a ticket event, and the journal as ``ticket.updated``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.exceptions import NotFound, OutageConflict
from gateway.store import audit
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.desk import insert_history
from gateway.store.events import insert_events
from gateway.store.sync import _put

OPEN_STATUSES = ("open", "in_progress")
OUTAGES_CURSOR = "outages_cursor"  # the last outage stage the CRM answered for
SUGGESTED = "outage_suggested"  # the early warning's last finding (JSON), for the metrics


@dataclass(frozen=True)
class OutageRow:
    id: int
    areas: str  # JSON list
    cause: str | None
    status: str  # active | restored | cancelled
    eta_at: str | None
    started_at: str
    ended_at: str | None
    check_until: str | None
    created_by: str
    origin: str | None

    @property
    def area_list(self) -> list[str]:
        return list(json.loads(self.areas))


@dataclass(frozen=True)
class StageRow:
    id: int
    outage_id: int
    kind: str  # declared | update | restored | cancelled
    at: str
    actor: str
    eta_at: str | None
    note: str | None
    checked: int
    campaign_id: int | None
    check_campaign_id: int | None
    recipients: int


@dataclass(frozen=True)
class ReportRow:
    ticket_id: str
    ref: str
    phone: str
    language: str
    account: str | None
    status: str
    kind: str  # linked | still_out
    at: str


@dataclass(frozen=True)
class NewStage:
    """A step of an outage: ``kind`` declared | update | restored | cancelled."""

    kind: str
    actor: str
    eta_at: datetime | None = None
    note: str | None = None
    checked: bool = False
    check_until: datetime | None = None  # restored with a check: still-out reports until then


class OutagesMixin(StoreBase):
    async def declare_outage(
        self, areas: Sequence[str], cause: str | None, eta_at: datetime | None, actor: str,
        *, origin: str | None = None, now: datetime | None = None,
    ) -> tuple[int, int]:  # fmt: skip
        """A new active outage and its ``declared`` stage, audited; returns (outage id, stage id)."""
        at = stamp(now)
        async with self._write() as db:
            cur = await db.execute(
                """INSERT INTO outages (areas, cause, status, eta_at, started_at, created_by, origin)
                   VALUES (?, ?, 'active', ?, ?, ?, ?)""",
                (json.dumps(list(areas), ensure_ascii=False), cause, stamp(eta_at) if eta_at else None, at, actor,
                 origin),
            )  # fmt: skip
            outage_id = int(cur.lastrowid or 0)
            stage_id = await _insert_stage(db, outage_id, NewStage("declared", actor, eta_at, cause), at)
            await _journal(db, self.site, outage_id, stage_id, at)
            detail = {"areas": list(areas), "cause": cause, "eta": stamp(eta_at) if eta_at else None}
            await audit.record(db, audit.acting(actor), "outage.declared", str(outage_id), detail, now=now)
        return outage_id, stage_id

    async def add_outage_stage(self, outage_id: int, stage: NewStage, now: datetime | None = None) -> int:
        """``stage`` of an active outage, in one transaction: the outage's ETR, status and check
        window; for restored and cancelled, its open linked tickets resolved (history by
        ``stage.actor``). Raises :class:`OutageConflict` when the outage is no longer active."""
        at = stamp(now)
        async with self._write() as db:
            outage = await _outage(db, outage_id)
            if outage.status != "active":
                raise OutageConflict(f"outage {outage_id} is {outage.status}: only an active outage changes")
            eta = stamp(stage.eta_at) if stage.eta_at else outage.eta_at
            if stage.kind == "update":
                await db.execute("UPDATE outages SET eta_at = ? WHERE id = ?", (eta, outage_id))
            elif stage.kind in ("restored", "cancelled"):
                await db.execute(
                    "UPDATE outages SET status = ?, ended_at = ?, check_until = ? WHERE id = ?",
                    (stage.kind, at, stamp(stage.check_until) if stage.check_until else None, outage_id),
                )
                await _resolve_linked(db, outage_id, stage, at)
            stage_id = await _insert_stage(db, outage_id, stage, at, eta)
            await _journal(db, self.site, outage_id, stage_id, at)
            detail = {"eta": eta, "note": stage.note, "check": stage.checked or None}
            await audit.record(db, audit.acting(stage.actor), f"outage.{stage.kind}", str(outage_id),
                               {k: v for k, v in detail.items() if v is not None}, now=now)  # fmt: skip
        return stage_id

    async def note_stage_notice(
        self, stage_id: int, campaign_id: int | None, check_campaign_id: int | None, recipients: int
    ) -> None:
        """The campaign(s) a stage's notice went out in, and to how many."""
        async with self._write() as db:
            await db.execute(
                "UPDATE outage_stages SET campaign_id = ?, check_campaign_id = ?, recipients = ? WHERE id = ?",
                (campaign_id, check_campaign_id, recipients, stage_id),
            )

    async def outage(self, outage_id: int) -> OutageRow:
        async with self._r.execute("SELECT * FROM outages WHERE id = ?", (outage_id,)) as cur:
            found = _row(OutageRow, await cur.fetchone())
        if found is None:
            raise NotFound(f"no outage {outage_id} (gateway outage list shows them)")
        return found

    async def outages(self, status: str | None = None, limit: int = 100) -> list[OutageRow]:
        """Newest first; ``status`` active | restored | cancelled, or all."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        rows = await self._r.execute_fetchall(f"SELECT * FROM outages {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return _rows(OutageRow, rows)

    async def outage_stages(self, outage_id: int) -> list[StageRow]:
        rows = await self._r.execute_fetchall(
            "SELECT * FROM outage_stages WHERE outage_id = ? ORDER BY id", (outage_id,)
        )
        return _rows(StageRow, rows)

    async def outage_reports(self, outage_id: int, kind: str | None = None) -> list[ReportRow]:
        """The tickets linked to an outage, oldest first (``kind`` linked | still_out, or both)."""
        extra, args = (" AND r.kind = ?", [kind]) if kind else ("", [])
        rows = await self._r.execute_fetchall(
            f"""SELECT r.ticket_id, t.ref, t.phone, t.language, t.account, t.status, r.kind, r.at
                FROM outage_reports r JOIN tickets t ON t.id = r.ticket_id
                WHERE r.outage_id = ?{extra} ORDER BY r.at, t.seq""",
            (outage_id, *args),
        )
        return _rows(ReportRow, rows)

    async def ticket_outages(self, ticket_ids: Collection[str]) -> dict[str, OutageRow]:
        """The outage each of these tickets is linked to (those that are)."""
        if not ticket_ids:
            return {}
        marks = ", ".join("?" for _ in ticket_ids)
        rows = await self._r.execute_fetchall(
            f"""SELECT r.ticket_id, o.* FROM outage_reports r JOIN outages o ON o.id = r.outage_id
                WHERE r.ticket_id IN ({marks})""",
            tuple(ticket_ids),
        )
        return {r["ticket_id"]: _row(OutageRow, r) for r in rows}  # type: ignore[misc]

    async def contact_areas(self, phone: str, account: str | None) -> list[str]:
        """The areas of the contact with this phone, then of contacts with this account."""
        rows = await self._r.execute_fetchall(
            """SELECT area FROM contacts WHERE phone = ? AND area IS NOT NULL
               UNION ALL SELECT area FROM contacts WHERE account = ? AND area IS NOT NULL""",
            (phone, account or ""),
        )
        return list(dict.fromkeys(str(r[0]) for r in rows))

    async def checks_sent(self, phones: Collection[str], now: datetime) -> dict[str, int]:
        """Phones that were sent a restoration check whose window is still open: phone -> outage id
        (the latest such outage)."""
        if not phones:
            return {}
        marks = ", ".join("?" for _ in phones)
        rows = await self._r.execute_fetchall(
            f"""SELECT x.phone, s.outage_id FROM outbox x
                JOIN outage_stages s ON s.check_campaign_id = x.campaign_id
                JOIN outages o ON o.id = s.outage_id
                WHERE x.phone IN ({marks}) AND x.status IN ('sent', 'delivered') AND o.check_until > ?
                ORDER BY s.id""",
            (*phones, stamp(now)),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def outage_tickets_since(self, category: str, since: datetime) -> list[tuple[str, str | None, str | None]]:
        """(phone, account, linked outage id or None) of each ticket of ``category`` since ``since``,
        with the areas of its contact (by phone, else by account) -- the early warning's count."""
        rows = await self._r.execute_fetchall(
            """SELECT t.phone, t.account, r.outage_id FROM tickets t
               LEFT JOIN outage_reports r ON r.ticket_id = t.id
               WHERE t.category = ? AND t.received_at >= ?""",
            (category, stamp(since)),
        )
        return [(str(p), a, str(o) if o is not None else None) for p, a, o in rows]

    async def open_reports_since(self, category: str, since: datetime) -> list[tuple[str, str, str | None, str]]:
        """(ticket id, phone, account, language) of open tickets of ``category`` since ``since``
        that no outage has yet, oldest first: the reports a new outage takes in."""
        rows = await self._r.execute_fetchall(
            f"""SELECT t.id, t.phone, t.account, t.language FROM tickets t
                WHERE t.category = ? AND t.received_at >= ?
                  AND t.status IN ({", ".join("?" for _ in OPEN_STATUSES)})
                  AND t.id NOT IN (SELECT ticket_id FROM outage_reports) ORDER BY t.seq""",
            (category, stamp(since), *OPEN_STATUSES),
        )
        return [(str(i), str(p), a, str(lang)) for i, p, a, lang in rows]

    async def link_reports(self, outage_id: int, ticket_ids: Sequence[str], now: datetime | None = None) -> int:
        """Link these tickets to the outage (those not linked already); returns how many."""
        at = stamp(now)
        async with self._write() as db:
            cur = await db.executemany(
                """INSERT INTO outage_reports (ticket_id, outage_id, kind, at)
                   SELECT ?, ?, 'linked', ? WHERE NOT EXISTS (SELECT 1 FROM outage_reports WHERE ticket_id = ?)""",
                [(t, outage_id, at, t) for t in ticket_ids],
            )
            return int(cur.rowcount)

    async def areas_by_phone_and_account(
        self, phones: Collection[str], accounts: Collection[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Contacts' areas: phone -> area, account -> area (for many reports at once)."""
        by_phone: dict[str, str] = {}
        by_account: dict[str, str] = {}
        for chunk in _chunks(list(phones)):
            marks = ", ".join("?" for _ in chunk)
            rows = await self._r.execute_fetchall(
                f"SELECT phone, area FROM contacts WHERE area IS NOT NULL AND phone IN ({marks})", chunk
            )
            by_phone.update({str(p): str(a) for p, a in rows})
        for chunk in _chunks(list(accounts)):
            marks = ", ".join("?" for _ in chunk)
            rows = await self._r.execute_fetchall(
                f"SELECT account, area FROM contacts WHERE area IS NOT NULL AND account IN ({marks})", chunk
            )
            by_account.update({str(p): str(a) for p, a in rows})
        return by_phone, by_account

    async def public_outages(
        self, campaign_ids: Sequence[int], limit: int = 50
    ) -> tuple[list[OutageRow], dict[int, tuple[int, str]]]:
        """For the public copy: the outages (active first, then the newest) and, for each of
        these campaigns that an outage's stage sent, (outage id, stage kind)."""
        rows = await self._r.execute_fetchall(
            "SELECT * FROM outages ORDER BY status = 'active' DESC, id DESC LIMIT ?", (limit,)
        )
        stages: dict[int, tuple[int, str]] = {}
        ids = list(campaign_ids)
        for chunk in [ids[i : i + 500] for i in range(0, len(ids), 500)]:
            marks = ", ".join("?" for _ in chunk)
            found = await self._r.execute_fetchall(
                f"""SELECT campaign_id, check_campaign_id, outage_id, kind FROM outage_stages
                    WHERE campaign_id IN ({marks}) OR check_campaign_id IN ({marks})""",
                (*chunk, *chunk),
            )
            for campaign_id, check_id, outage_id, kind in found:
                for cid in (campaign_id, check_id):
                    if cid is not None:
                        stages[int(cid)] = (int(outage_id), str(kind))
        return _rows(OutageRow, rows), stages

    async def note_suggestions(self, areas: dict[str, int], window_s: float, now: datetime) -> None:
        """What the early warning found last (area -> distinct phones), for ``gateway stats`` and
        the metrics (``sync_state`` key :data:`SUGGESTED`)."""
        doc = {"at": stamp(now), "window_s": window_s, "areas": areas}
        async with self._write() as db:
            await _put(db, {SUGGESTED: json.dumps(doc, ensure_ascii=False)})

    async def outage_events(self, size: int) -> list[tuple[StageRow, OutageRow]]:
        """Up to ``size`` stages after the CRM's cursor, each with its outage as it is now."""
        rows = await self._r.execute_fetchall(
            f"""SELECT s.*, o.areas, o.cause, o.status, o.started_at, o.ended_at, o.created_by, o.origin,
                       o.eta_at AS outage_eta, o.check_until
                FROM outage_stages s JOIN outages o ON o.id = s.outage_id
                WHERE s.id > COALESCE((SELECT CAST(value AS INTEGER) FROM sync_state
                                       WHERE key = '{OUTAGES_CURSOR}'), 0)
                ORDER BY s.id LIMIT ?""",
            (size,),
        )
        out = []
        for r in rows:
            stage = _row(StageRow, r)
            outage = OutageRow(
                r["outage_id"], r["areas"], r["cause"], r["status"], r["outage_eta"], r["started_at"],
                r["ended_at"], r["check_until"], r["created_by"], r["origin"],
            )  # fmt: skip
            assert stage is not None
            out.append((stage, outage))
        return out

    async def settle_outage_events(self, last_stage_id: int) -> None:
        """The CRM answered for every stage up to ``last_stage_id``: the cursor moves on (never back)."""
        async with self._write() as db:
            async with db.execute("SELECT value FROM sync_state WHERE key = ?", (OUTAGES_CURSOR,)) as cur:
                row = await cur.fetchone()
            if row is None or int(row[0] or 0) < last_stage_id:
                await _put(db, {OUTAGES_CURSOR: str(last_stage_id)})


async def _outage(db: Any, outage_id: int) -> OutageRow:
    async with db.execute("SELECT * FROM outages WHERE id = ?", (outage_id,)) as cur:
        found = _row(OutageRow, await cur.fetchone())
    if found is None:
        raise NotFound(f"no outage {outage_id} (gateway outage list shows them)")
    return found


STAGE_EVENTS = {"declared": "outage.declared", "update": "outage.updated", "restored": "outage.restored",
                "cancelled": "outage.cancelled"}  # fmt: skip


async def _journal(db: Any, site: str, outage_id: int, stage_id: int, at: str) -> None:
    """The stage's event in the journal (webhooks, the event stream), in its transaction."""
    outage = await _outage(db, outage_id)
    async with db.execute("SELECT * FROM outage_stages WHERE id = ?", (stage_id,)) as cur:
        stage = _row(StageRow, await cur.fetchone())
    assert stage is not None
    data = {
        "outage": {"id": outage.id, "areas": outage.area_list, "cause": outage.cause, "status": outage.status,
                   "eta": outage.eta_at, "started_at": outage.started_at, "ended_at": outage.ended_at,
                   "check_until": outage.check_until, "origin": outage.origin},
        "stage": {"id": stage.id, "kind": stage.kind, "at": stage.at, "by": stage.actor, "eta": stage.eta_at,
                  "note": stage.note, "check": bool(stage.checked)},
    }  # fmt: skip
    await insert_events(db, site, at, [(STAGE_EVENTS[stage.kind], data)])


async def _insert_stage(db: Any, outage_id: int, stage: NewStage, at: str, eta: str | None = None) -> int:
    cur = await db.execute(
        """INSERT INTO outage_stages (outage_id, kind, at, actor, eta_at, note, checked)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (outage_id, stage.kind, at, stage.actor, eta or (stamp(stage.eta_at) if stage.eta_at else None),
         stage.note, int(stage.checked)),
    )  # fmt: skip
    return int(cur.lastrowid or 0)


async def _resolve_linked(db: Any, outage_id: int, stage: NewStage, at: str) -> None:
    """The outage's open linked tickets resolved, each with its history row."""
    rows = await db.execute_fetchall(
        f"""SELECT t.id, t.status FROM outage_reports r JOIN tickets t ON t.id = r.ticket_id
            WHERE r.outage_id = ? AND t.status IN ({", ".join("?" for _ in OPEN_STATUSES)})""",
        (outage_id, *OPEN_STATUSES),
    )
    note = f"outage {outage_id} {stage.kind}" + (f": {stage.note}" if stage.note else "")
    for ticket_id, status in rows:
        await db.execute("UPDATE tickets SET status = 'resolved', status_changed_at = ? WHERE id = ?", (at, ticket_id))
        await insert_history(db, ticket_id, at, stage.actor, "status", status, "resolved", note, None)


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
