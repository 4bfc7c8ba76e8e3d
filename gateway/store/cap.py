"""CAP documents taken in (``cap_documents``): each once, by identifier, sender and sent.

Taking one in is two steps around the outage change it drives: :meth:`CapMixin.claim_cap`
writes its row first (the UNIQUE key makes a second copy, even one arriving at the same
moment from another process, find it taken), then :meth:`CapMixin.settle_cap` records what it
did, audited -- or :meth:`CapMixin.release_cap` removes the claim when the change was refused,
so that nothing is left of a refused document.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from gateway.store import audit
from gateway.store.base import StoreBase, _row, _rows, stamp


@dataclass(frozen=True)
class CapDocumentRow:
    id: int
    identifier: str
    sender: str
    sent: str  # UTC
    status: str
    msg_type: str
    outcome: str  # claimed (being acted on) | declared | updated | cancelled
    outage_id: int | None
    expires_at: str | None
    public: str | None  # JSON {language: {headline, instruction}}
    campaign_id: int | None  # the notice it sent
    received_at: str
    received_by: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "public": json.loads(self.public) if self.public else {}}


@dataclass(frozen=True)
class CapClaim:
    """What a document says about itself, kept from the moment it is claimed."""

    identifier: str
    sender: str
    sent: str  # UTC, as gateway.cap.document.utc_text writes it
    status: str
    msg_type: str
    expires_at: str | None = None
    public: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> headline, instruction


class CapMixin(StoreBase):
    async def cap_document(self, identifier: str, sender: str, sent: str) -> CapDocumentRow | None:
        """The document with this identity, or None (never taken in)."""
        async with self._r.execute(
            "SELECT * FROM cap_documents WHERE identifier = ? AND sender = ? AND sent = ?", (identifier, sender, sent)
        ) as cur:
            return _row(CapDocumentRow, await cur.fetchone())

    async def cap_documents(self, *, outage_id: int | None = None, limit: int = 200) -> list[CapDocumentRow]:
        """The newest documents taken in (of one outage), newest first; claims in progress left out."""
        sql = "SELECT * FROM cap_documents WHERE outcome != 'claimed'"
        args: tuple[Any, ...] = ()
        if outage_id is not None:
            sql += " AND outage_id = ?"
            args = (outage_id,)
        async with self._r.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)) as cur:
            return _rows(CapDocumentRow, await cur.fetchall())

    async def claim_cap(self, claim: CapClaim, *, actor: str, now: datetime | None = None) -> int | None:
        """Write the document's row as ``claimed``: its id, or None when it was taken in before."""
        async with self._write() as db:
            try:
                cur = await db.execute(
                    """INSERT INTO cap_documents (identifier, sender, sent, status, msg_type, outcome, expires_at,
                                                  public, received_at, received_by)
                       VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?, ?, ?)""",
                    (claim.identifier, claim.sender, claim.sent, claim.status, claim.msg_type, claim.expires_at,
                     json.dumps(claim.public, ensure_ascii=False) if claim.public else None, stamp(now), actor),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                return None
            return cur.lastrowid

    async def settle_cap(
        self, claim_id: int, outcome: str, outage_id: int | None, campaign_id: int | None = None, *, actor: str,
        now: datetime | None = None,
    ) -> None:  # fmt: skip
        """Record what the claimed document did (``declared``, ``updated``, ``cancelled``) and the
        notice it sent, audited."""
        async with self._write() as db:
            await db.execute(
                "UPDATE cap_documents SET outcome = ?, outage_id = ?, campaign_id = ? WHERE id = ?",
                (outcome, outage_id, campaign_id, claim_id),
            )
            async with db.execute("SELECT identifier, sender, msg_type FROM cap_documents WHERE id = ?",
                                  (claim_id,)) as cur:  # fmt: skip
                row = await cur.fetchone()
            detail = {"sender": row[1], "msg_type": row[2], "outcome": outcome, "outage": outage_id} if row else {}
            await audit.record(db, audit.acting(actor), "cap.ingested", row[0] if row else str(claim_id), detail,
                               now=now)  # fmt: skip

    async def cap_public(self, campaign_ids: Sequence[int]) -> dict[int, dict[str, dict[str, str]]]:
        """The CAP headline and instruction per language of the notices among ``campaign_ids``
        that a CAP document sent (for the public copy)."""
        out: dict[int, dict[str, dict[str, str]]] = {}
        ids = list(campaign_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT campaign_id, public FROM cap_documents WHERE public IS NOT NULL AND campaign_id IN ({marks})"
            async with self._r.execute(sql, chunk) as cur:  # marks only: values bound
                for campaign_id, public in await cur.fetchall():
                    out[int(campaign_id)] = json.loads(public)
        return out

    async def release_cap(self, claim_id: int) -> None:
        """Forget a claim whose change was refused: the document may be sent again."""
        async with self._write() as db:
            await db.execute("DELETE FROM cap_documents WHERE id = ? AND outcome = 'claimed'", (claim_id,))

    async def cap_outage(self, identifier: str, sender: str, sent: str) -> tuple[int | None, str | None] | None:
        """The outage and expiry of the document with this identity (for a reference), or None."""
        row = await self.cap_document(identifier, sender, sent)
        if row is None or row.outcome == "claimed":
            return None
        return row.outage_id, row.expires_at
