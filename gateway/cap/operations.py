"""What the faces call: ``gateway cap ingest`` (:func:`ingest_file`, opening the store) and
``POST /api/v1/cap`` (:func:`ingest_document`, on the API's store). A plan is driven through the
outages' own operations (:mod:`gateway.outages.operations`), as ``gateway outage`` drives them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from gateway.broadcast.campaigns import publish
from gateway.cap.ingest import Taken, ingest, refused
from gateway.cap.mapping import CapPlan
from gateway.config import Config
from gateway.exceptions import CapRefused, OutageError
from gateway.outages.notices import OutageStore
from gateway.store import CampaignDesk
from gateway.store.configured import open_store
from gateway.store.protocols_cap import CapBook

NOTE_MAX = 500  # characters of the headline kept as an update's note


class CapStore(CapBook, OutageStore, CampaignDesk, Protocol):
    """What taking a CAP document in uses: the documents seen, the outages, the public copy."""


async def ingest_file(config: Config, raw: bytes, *, actor: str) -> Taken:
    """:func:`ingest_document` on a store of its own (the CLI)."""
    async with await open_store(config) as store:
        return await ingest_document(store, config, raw, actor=actor)


async def ingest_document(store: CapStore, config: Config, raw: bytes, *, actor: str) -> Taken:
    """Take the CAP document ``raw`` in as ``actor`` (:func:`gateway.cap.ingest.ingest`)."""

    async def drive(
        plan: CapPlan, outage_id: int | None, dry_run: bool, who: str, origin: str
    ) -> tuple[int | None, dict[str, Any]]:
        try:
            return await _drive(store, config, plan, outage_id, dry_run, who, origin)
        except OutageError as exc:
            raise refused(exc) from None

    taken = await ingest(store, config, raw, drive, actor=actor)
    if taken.outcome in ("declared", "updated", "cancelled") and taken.public:
        warning = await publish(store, config)  # again, now that the notice's CAP words are kept
        if warning:
            taken = replace(taken, notices={**taken.notices, "warning": warning})
    return taken


async def _drive(
    store: CapStore, config: Config, plan: CapPlan, outage_id: int | None, dry_run: bool, actor: str, origin: str,
    now: datetime | None = None,
) -> tuple[int | None, dict[str, Any]]:  # fmt: skip
    from gateway.outages import operations as outages

    if plan.notify and plan.action != "cancel" and not dry_run:  # the notice as it would go, checked first
        await _drive(store, config, plan, outage_id, True, actor, origin, now)
    if plan.action == "declare":
        result = await outages.declare(
            store, config, plan.areas, cause=plan.cause[:NOTE_MAX] or None, eta=plan.eta, notify=plan.notify,
            dry_run=dry_run, actor=actor, origin=origin, now=now,
        )  # fmt: skip
    elif outage_id is None:  # a rehearsal of an Update or Cancel of an alert that only dry-ran
        return None, {"would": f"{plan.action} the outage its references declared (none was kept: a rehearsal)"}
    elif plan.action == "update":
        result = await outages.update(
            store, config, outage_id, eta=plan.eta, note=_note(plan), notify=plan.notify, dry_run=dry_run,
            actor=actor, now=now,
        )  # fmt: skip
    else:
        result = await outages.cancel(store, config, outage_id, note=_note(plan), dry_run=dry_run, actor=actor, now=now)
    found = result.outage["id"] if result.outage else outage_id
    said = result.as_json()
    _check_parts(said, config.conversation.reply_max_parts)
    return found, said


def _check_parts(said: dict[str, Any], limit: int) -> None:
    """Each notice in each language within ``[conversation] reply_max_parts`` SMS parts."""
    for notice in said.get("notices", []):
        for language, text in notice.get("texts", {}).items():
            if text["parts"] > limit:
                raise CapRefused(
                    f"the {notice['template']} notice in {language} would be {text['parts']} SMS parts with this "
                    f"alert's values: at most [conversation] reply_max_parts = {limit} (shorten the area's name "
                    "in [cap] areas, or the approved notice)"
                )


def _note(plan: CapPlan) -> str | None:
    words = plan.words.get("en") or next(iter(plan.words.values()), None)
    return words.headline[:NOTE_MAX] if words and words.headline else None
