"""Status updates from the CRM: a large backlog does not hold up intake (issue 12, item 7),
and the CRM's text is cleaned and measured before it is queued for a customer (item 19).
Real HTTP on 127.0.0.1 against the reference receiver, real SQLite files."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConversationConfig
from gateway.crm.push import CycleReport
from gateway.crm.receiver import CrmStub
from gateway.crm.sync import SyncService
from gateway.lockfile import holder_name
from gateway.store import InboundItem, Store, TicketRow
from tests.gateway.crm.test_sync import CAT, config
from tests.gateway.make_tickets import open_tickets

LONG_FA = "برق منطقه شما پس از تعمیر کابل اصلی دوباره وصل شد و تا پایان شب پایدار خواهد ماند."  # 2 parts


class Crash(Exception):
    """The process dies right after a chunk of updates was committed."""


def syncer(store: Store, tmp_path: Path, stub: CrmStub, **kwargs: Any) -> SyncService:
    return SyncService(store, config(tmp_path, stub), CAT, holder=holder_name("test"), **kwargs)


async def known_to_the_crm(store: Store, tmp_path: Path, stub: CrmStub, n: int) -> list[TicketRow]:
    made = await open_tickets(store, n)
    assert (await syncer(store, tmp_path, stub).cycle()).synced == n
    return made


async def notifications(store: Store, ticket: TicketRow) -> list[str]:
    return [row.text for row in await store.outbox(ticket_id=ticket.id, limit=100_000) if row.lane == "notification"]


# ---------------------------------------------------------------------- item 7: a large backlog


async def test_intake_writes_land_between_chunks_of_a_large_updates_page(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    """3,000 updates come in pages of 1,000 and are applied 50 at a time: an SMS arriving
    meanwhile is stored after at most a few chunks, not after a page (or the whole backlog)."""
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    total = 3000
    stub.add_updates({"id": ticket.id, "status": "in_progress", "note": f"crew report {i}"} for i in range(total))
    base = int((await store.sync_state()).get("cursor") or 0)
    svc = syncer(store, tmp_path, stub, update_chunk=50, updates_limit=1000)
    pull = asyncio.create_task(svc.cycle())
    seen: list[int] = []  # updates applied when each customer SMS was committed
    try:
        index = 1000
        while not pull.done():
            index += 1
            item = InboundItem("SM", index, f"PDU{index}", "sms", sender="+989120000001", text="1 48213")
            await asyncio.wait_for(store.add_inbound("m1", [item]), timeout=30)
            state = await store.sync_state()
            seen.append(int(state.get("cursor") or 0) - base + int(state.get("cursor_skip") or 0))
        report = await asyncio.wait_for(pull, timeout=60)
    finally:
        pull.cancel()
        await asyncio.wait({pull}, timeout=10)
    assert report.updates == total and stub.stats()["pulls"] >= 3  # three pages, not one answer of 3,000
    during = [n for n in seen if 0 < n < total]
    assert len(during) >= 10, seen  # SMS kept being stored while the backlog was applied
    steps = [b - a for a, b in zip([0, *seen], seen, strict=False)]
    assert max(steps) <= 4 * 50, seen  # no SMS waited for more than a few chunks (a page is 1,000)
    row = await store.ticket(ticket.id)
    assert row is not None and row.crm_note == f"crew report {total - 1}"


async def test_a_crash_in_the_middle_of_a_page_resumes_without_telling_anyone_twice(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    total = 600
    stub.add_updates({"id": ticket.id, "status": "in_progress", "notify": True} for _ in range(total))
    chunks = 0

    def crash_after_the_fifth_chunk() -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 5:
            raise Crash

    svc = syncer(store, tmp_path, stub, update_chunk=50, updates_limit=200, on_notice=crash_after_the_fifth_chunk)
    with pytest.raises(Crash):
        await svc.cycle()
    assert len(await notifications(store, ticket)) == 250  # five chunks were committed, with their SMS
    state = await store.sync_state()
    assert state.get("cursor_skip") == "50"  # 200 (page one) + 50 of page two

    report = await syncer(store, tmp_path, stub, update_chunk=50, updates_limit=200).cycle()  # after the restart
    assert report.updates == total - 250
    assert len(await notifications(store, ticket)) == total  # each update told once: none twice, none lost
    state = await store.sync_state()
    assert "cursor_skip" not in state and state["cursor"] == str(int(state["cursor"]))


async def test_the_reference_receiver_honours_the_limit(tmp_path: Path, stub: CrmStub, store: Store) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    stub.add_updates({"id": ticket.id, "status": "in_progress"} for _ in range(30))
    assert len(stub.updates("12", "", "7")["updates"]) == 7
    assert len(stub.updates("12", "", "")["updates"]) == 30


async def test_a_backlog_longer_than_one_cycle_goes_on_at_once(tmp_path: Path, stub: CrmStub, store: Store) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    stub.add_updates({"id": ticket.id, "status": "in_progress"} for _ in range(150))
    svc = syncer(store, tmp_path, stub, updates_limit=1)  # 100 pages of one: a cycle's worth
    first = await svc.cycle()
    assert (first.updates, first.more_updates) == (100, True)  # the daemon's loop does not wait pull_interval
    second = await svc.cycle()
    assert (second.updates, second.more_updates) == (50, False)


# ---------------------------------------------------------------------- item 19: the CRM's text


async def test_control_characters_and_bidi_overrides_never_reach_the_customer(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    dirty = "برق\u202e وصل شد\x1b[2J\x07\u2066.\u2069\r\nسپاس\x00\x85"
    stub.add_update(ticket.id, "resolved", notify=True, message={"fa": dirty}, note="fixed\x1b]0;pwned\x07")
    await syncer(store, tmp_path, stub).cycle()
    assert await notifications(store, ticket) == ["برق وصل شد[2J.\nسپاس"]
    row = await store.ticket(ticket.id)
    assert row is not None and row.crm_note == "fixed]0;pwned"  # no escape sequence reaches an operator's terminal


async def test_a_crm_text_longer_than_reply_max_parts_is_replaced_by_the_status_template(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    """Decision: the customer still hears the news, in the catalogue's words (which
    check-config holds to reply_max_parts); the update is applied and the swap reported."""
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    stub.add_update(ticket.id, "resolved", notify=True, message={"fa": LONG_FA})
    report: CycleReport = await syncer(store, tmp_path, stub).cycle()  # reply_max_parts = 1 by default
    [sent] = await notifications(store, ticket)
    assert sent != LONG_FA and "رسیدگی شد" in sent  # the update_resolved template
    assert (report.updates, report.notices, report.messages_replaced) == (1, 1, 1)
    row = await store.ticket(ticket.id)
    assert row is not None and row.status == "resolved"


async def test_a_crm_text_within_reply_max_parts_goes_as_written(tmp_path: Path, stub: CrmStub, store: Store) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    stub.add_update(ticket.id, "resolved", notify=True, message={"fa": LONG_FA})
    cfg = replace(config(tmp_path, stub), conversation=ConversationConfig(reply_max_parts=2))
    report = await SyncService(store, cfg, CAT, holder=holder_name("test")).cycle()
    assert await notifications(store, ticket) == [LONG_FA] and report.messages_replaced == 0


async def test_a_crm_text_of_nothing_but_control_characters_gets_the_template(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [ticket] = await known_to_the_crm(store, tmp_path, stub, 1)
    stub.add_update(ticket.id, "in_progress", notify=True, message={"fa": "\u202e\x1b\x07\r\n"})
    await syncer(store, tmp_path, stub).cycle()
    [sent] = await notifications(store, ticket)
    assert sent.startswith("به گزارش «قطعی» شما با شماره")
