"""What CAP ingestion (:mod:`gateway.cap.ingest`) sees of the store: the documents taken in."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.store.cap import CapClaim, CapDocumentRow

__all__ = ["CapBook"]


class CapBook(Protocol):
    """Each CAP document once: claim it, settle what it did, or release a refused one."""

    async def cap_document(self, identifier: str, sender: str, sent: str) -> CapDocumentRow | None: ...
    async def cap_documents(self, *, outage_id: int | None = ..., limit: int = ...) -> list[CapDocumentRow]: ...
    async def claim_cap(self, claim: CapClaim, *, actor: str, now: datetime | None = ...) -> int | None: ...
    async def settle_cap(
        self,
        claim_id: int,
        outcome: str,
        outage_id: int | None,
        campaign_id: int | None = ...,
        *,
        actor: str,
        now: datetime | None = ...,
    ) -> None: ...
    async def release_cap(self, claim_id: int) -> None: ...
    async def cap_outage(self, identifier: str, sender: str, sent: str) -> tuple[int | None, str | None] | None: ...
