"""Taking a CAP 1.2 document in: read it, check it, act on it once -- what ``gateway cap
ingest FILE`` and ``POST /api/v1/cap`` call.

1. :func:`gateway.cap.rules.read` checks the document (refused: :class:`CapRefused`, nothing
   changed);
2. a document taken in before (same identifier, sender and sent) changes nothing: the answer
   says so and names what it did then;
3. :func:`gateway.cap.mapping.plan` says what it asks: declare, update or cancel, for which of
   our areas, with which ETR and words;
4. an Update or Cancel finds its outage through ``<references>``: the outage an earlier document
   we took in declared (refused when none did; an Update after that alert's ``expires`` is
   refused too: staged updates end when the alert expires);
5. a Test or Exercise only dry-runs (nothing written, the plan shown); an Actual one is claimed
   in ``cap_documents`` first (so two copies at once act once), then the outage operation runs
   (with its notices when ``[cap] notify``), then the claim is settled -- or released if the
   operation refused, so that nothing is left of a refused document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from gateway.cap import mapping, rules
from gateway.cap.document import Alert, utc_text
from gateway.cap.mapping import CapPlan
from gateway.config import LANGUAGES, Config
from gateway.exceptions import CapRefused, GatewayError
from gateway.store.cap import CapClaim
from gateway.store.protocols_cap import CapBook

OUTCOMES = {"declare": "declared", "update": "updated", "cancel": "cancelled"}


@dataclass(frozen=True)
class Taken:
    """What ingesting a document did: ``outcome`` is declared, updated, cancelled, dry_run or
    seen (taken in before: nothing changed)."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    outcome: str
    outage_id: int | None = None
    areas: tuple[str, ...] = ()
    eta: str | None = None
    public: dict[str, dict[str, str]] = field(default_factory=dict)
    notices: dict[str, Any] = field(default_factory=dict)  # what the outage operation says it sent (or would)
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier, "sender": self.sender, "sent": self.sent, "status": self.status,
            "msg_type": self.msg_type, "outcome": self.outcome, "outage_id": self.outage_id,
            "areas": list(self.areas), "eta": self.eta, "public": self.public, "notices": self.notices,
            "message": self.message,
        }  # fmt: skip


# the outage operation a plan drives: (plan, outage id or None, dry run, actor, origin) -> (outage id, what it says)
Drive = Callable[[CapPlan, int | None, bool, str, str], Awaitable[tuple[int | None, dict[str, Any]]]]


async def ingest(
    store: CapBook, config: Config, raw: bytes, drive: Drive, *, actor: str, now: datetime | None = None
) -> Taken:
    """Take ``raw`` in as ``actor``; :class:`CapRefused` (nothing changed) when it is not for us."""
    now = now or datetime.now(UTC)
    alert = rules.read(raw)
    base = Taken(alert.identifier, alert.sender, utc_text(alert.sent), alert.status, alert.msg_type, "seen")
    seen = await store.cap_document(*alert.key)
    if seen is not None:
        when = f"taken in before, at {seen.received_at} ({seen.outcome}): nothing changed"
        return replace(base, outage_id=seen.outage_id, message=when)
    plan = mapping.plan(alert, config.cap.areas, LANGUAGES, notify=config.cap.notify, now=now)
    outage_id = None if plan.action == "declare" else await _referred(store, alert, plan, now)
    origin = f"cap:{alert.identifier}"
    base = replace(base, areas=plan.areas, eta=utc_text(plan.eta) if plan.eta else None, public=plan.public)
    if plan.dry_run:
        _, notices = await drive(plan, outage_id, True, actor, origin)
        message = f"a {alert.status} alert: dry run only, nothing changed"
        return replace(base, outcome="dry_run", outage_id=outage_id, notices=notices, message=message)
    expires = utc_text(plan.expires) if plan.expires else None
    claim = CapClaim(alert.identifier, alert.sender, utc_text(alert.sent), alert.status, alert.msg_type, expires,
                     plan.public)  # fmt: skip
    claim_id = await store.claim_cap(claim, actor=actor, now=now)
    if claim_id is None:  # another copy got there first, between our look and our claim
        return replace(base, message="taken in at the same moment by another request: nothing changed")
    try:
        outage_id, notices = await drive(plan, outage_id, False, actor, origin)
    except BaseException:
        await store.release_cap(claim_id)
        raise
    outcome = OUTCOMES[plan.action]
    sent = [n["campaign_id"] for n in notices.get("notices", []) if n.get("campaign_id") is not None]
    await store.settle_cap(claim_id, outcome, outage_id, sent[0] if sent else None, actor=actor, now=now)
    return replace(base, outcome=outcome, outage_id=outage_id, notices=notices, message=f"outage {outage_id} {outcome}")


async def _referred(store: CapBook, alert: Alert, plan: CapPlan, now: datetime) -> int | None:
    """The outage that the alerts ``alert`` refers to drive (the newest reference we know); a
    rehearsal may refer to one we never kept (a Test Alert only dry-ran): None."""
    for reference in reversed(alert.references):
        found = await store.cap_outage(reference.identifier, reference.sender, utc_text(reference.sent))
        if found is None or found[0] is None:
            continue
        outage_id, expires_at = found
        if plan.action == "update" and expires_at and datetime.fromisoformat(expires_at) <= now and not plan.dry_run:
            raise CapRefused(f"the alert it updates ({reference.identifier}) expired at {expires_at}: staged updates "
                             "end when an alert expires; send a new Alert")  # fmt: skip
        return outage_id
    if plan.dry_run:
        return None
    named = " ".join(f"{r.sender},{r.identifier}" for r in alert.references)
    raise CapRefused(f"not for us: this {alert.msg_type} refers to no alert we took in ({named[:300]})")


def refused(exc: GatewayError) -> CapRefused:
    """An outage operation's refusal as the document's: the reason, nothing changed."""
    return exc if isinstance(exc, CapRefused) else CapRefused(f"refused by the outage: {exc}")
