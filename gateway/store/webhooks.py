"""Webhooks: who receives which events, and how far each receiver has got.

Delivery state per (hook, event) is one cursor per hook: every subscribed event up to
``after_seq`` is delivered (2xx), the next one is being tried (``attempts``, since
``failing_since``, again at ``next_attempt_at``). Events go to a hook in journal order, one
at a time, so the cursor says everything; a kill -9 between a receiver's 2xx and the commit
of the cursor means that one event is posted again, with the same id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gateway.store import audit
from gateway.store.base import StoreBase, _row, _rows, stamp
from gateway.store.rows_access import Actor
from gateway.store.rows_events import EventRow, WebhookRow


class WebhooksMixin(StoreBase):
    async def add_webhook(
        self, url: str, events: Sequence[str], secret: str, *, actor: Actor, now: datetime | None = None
    ) -> WebhookRow:
        """A receiver of ``events`` from now on (the journal's earlier events are not sent),
        added by ``actor`` (kept on the hook: an integration manages only its own; audited)."""
        async with self._write() as db:
            cur = await db.execute(
                """INSERT INTO webhooks (url, events, secret, created_at, after_seq, created_by, created_by_kind)
                   VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM events), ?, ?)""",
                (url, ",".join(events), secret, stamp(now), actor.name, actor.kind),
            )
            async with db.execute("SELECT * FROM webhooks WHERE id = ?", (cur.lastrowid,)) as rows:
                made = _row(WebhookRow, await rows.fetchone())
            assert made is not None
            await audit.record(db, actor, "webhook.added", f"#{made.id}", {"url": url, "events": list(events)}, now=now)
        return made

    async def remove_webhook(self, hook_id: int, *, actor: Actor, now: datetime | None = None) -> bool:
        """Remove the hook (False: there is none); audited."""
        async with self._write() as db:
            cur = await db.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))
            if cur.rowcount == 0:
                return False
            await audit.record(db, actor, "webhook.removed", f"#{hook_id}", now=now)
            return True

    async def revive_webhook(self, hook_id: int, *, actor: Actor, now: datetime | None = None) -> WebhookRow | None:
        """A hook tried again from its cursor at once, dead or failing (None: there is none); audited.
        The last error stays until the next success, as the record of what went wrong."""
        async with self._write() as db:
            async with db.execute("SELECT status FROM webhooks WHERE id = ?", (hook_id,)) as rows:
                found = await rows.fetchone()
            if found is None:
                return None
            await db.execute(
                """UPDATE webhooks SET status = 'active', attempts = 0, failing_since = NULL, next_attempt_at = NULL
                   WHERE id = ?""",
                (hook_id,),
            )
            await audit.record(db, actor, "webhook.revived", f"#{hook_id}", {"was": found[0]}, now=now)
            async with db.execute("SELECT * FROM webhooks WHERE id = ?", (hook_id,)) as rows:
                return _row(WebhookRow, await rows.fetchone())

    async def webhook(self, hook_id: int) -> tuple[WebhookRow, int] | None:
        """One hook with its backlog, or None."""
        async with self._r.execute("SELECT * FROM webhooks WHERE id = ?", (hook_id,)) as cur:
            hook = _row(WebhookRow, await cur.fetchone())
        return None if hook is None else (hook, await self._backlog(hook))

    async def webhooks(self, *, created_by: Actor | None = None) -> list[tuple[WebhookRow, int]]:
        """Every hook (or those ``created_by`` added: by name and kind) with its backlog
        (subscribed events not yet delivered), oldest hook first."""
        sql, args = "SELECT * FROM webhooks ORDER BY id", tuple[str, ...]()
        if created_by is not None:
            sql = "SELECT * FROM webhooks WHERE created_by = ? AND created_by_kind = ? ORDER BY id"
            args = (created_by.name, created_by.kind)
        async with self._r.execute(sql, args) as cur:
            hooks = _rows(WebhookRow, await cur.fetchall())
        return [(h, await self._backlog(h)) for h in hooks]

    async def active_webhooks(self) -> list[WebhookRow]:
        async with self._r.execute("SELECT * FROM webhooks WHERE status = 'active' ORDER BY id") as cur:
            return _rows(WebhookRow, await cur.fetchall())

    async def active_webhook(self, hook_id: int) -> WebhookRow | None:
        """The hook as it stands now (its cursor), if it is still active."""
        async with self._r.execute("SELECT * FROM webhooks WHERE id = ? AND status = 'active'", (hook_id,)) as cur:
            return _row(WebhookRow, await cur.fetchone())

    async def webhook_events(
        self, hook: WebhookRow, limit: int, *, after: int | None = None, upto: int | None = None
    ) -> list[EventRow]:
        """The hook's next events, in journal order: after its cursor (or ``after``, a later seq
        the caller knows holds none of its types), up to ``upto``."""
        marks = ", ".join("?" for _ in hook.types)
        async with self._r.execute(
            f"""SELECT seq, id, type, created_at, data FROM events
                WHERE seq > ? AND seq <= ? AND type IN ({marks}) ORDER BY seq LIMIT ?""",
            (max(hook.after_seq, after or 0), upto if upto is not None else 2**62, *hook.types, limit),
        ) as cur:
            return [EventRow(*r) for r in await cur.fetchall()]

    async def webhook_delivered(self, hook_id: int, seq: int, now: datetime | None = None) -> None:
        """The receiver answered 2xx to the event ``seq``: the cursor moves past it."""
        async with self._write() as db:
            await db.execute(
                """UPDATE webhooks SET after_seq = MAX(after_seq, ?), attempts = 0, failing_since = NULL,
                       next_attempt_at = NULL, last_success_at = ? WHERE id = ?""",
                (seq, stamp(now), hook_id),
            )

    async def webhook_failed(
        self, hook_id: int, error: str, retry_at: datetime | None, *, dead: bool, now: datetime | None = None
    ) -> None:
        """The next event did not get a 2xx: tried again at ``retry_at``, or never (``dead``)."""
        at = stamp(now)
        async with self._write() as db:
            await db.execute(
                """UPDATE webhooks SET attempts = attempts + 1, failing_since = COALESCE(failing_since, ?),
                       next_attempt_at = ?, last_error = ?, last_error_at = ?,
                       status = CASE WHEN ? THEN 'dead' ELSE status END
                   WHERE id = ?""",
                (at, stamp(retry_at) if retry_at else None, error, at, int(dead), hook_id),
            )

    async def _backlog(self, hook: WebhookRow) -> int:
        marks = ", ".join("?" for _ in hook.types)
        async with self._r.execute(
            f"SELECT COUNT(*) FROM events WHERE seq > ? AND type IN ({marks})", (hook.after_seq, *hook.types)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
