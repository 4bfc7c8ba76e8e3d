"""The SQLite queue: committed means kept, routed means once, sent means +CMGS."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest

from gateway.conversation.phones import language_prefixes, number_language
from gateway.conversation.refs import format_ref
from gateway.exceptions import StoreError
from gateway.inbound.reassembly import assemble, release
from gateway.outbound.dispatcher import Capacity, assign
from gateway.store import AudienceSpec, InboundItem, NewTicket, OnAir, Outcome, Store, file_views, protocols
from gateway.store.base import _statements
from gateway.store.database_file import DatabaseFile
from gateway.store.migrations import MIGRATIONS


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = await Store.open(tmp_path / "gw.db", site="12")
    yield s
    await s.close()


def sms(index: int, text: str, sender: str = "+989121234567", pdu: str | None = None) -> InboundItem:
    return InboundItem("SM", index, pdu or f"PDU{index}{text}", "sms", sender=sender, text=text)


def part(index: int, text: str, ref: int, total: int, seq: int, sender: str = "+989121234567") -> InboundItem:
    return InboundItem(
        "SM", index, f"P{index}{ref}{seq}{text}", "part", sender=sender, text=text, concat=(ref, total, seq)
    )


async def test_migrations_are_recorded_and_wal_is_on(store: Store, tmp_path: Path) -> None:
    assert await store.schema_version() == len(MIGRATIONS)
    conn = sqlite3.connect(tmp_path / "gw.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT id, name FROM schema_migrations ORDER BY id").fetchall() == [m[:2] for m in MIGRATIONS]


async def test_a_database_of_the_first_version_is_upgraded_in_place(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "gw.db")
    conn.execute(
        "CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for statement in _statements(MIGRATIONS[0][2]):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 'then')")
    conn.execute(
        """INSERT INTO outbox (phone, text, lane, priority, parts, created_at)
           VALUES ('+989121234567', 'kept', 'reply', 0, 1, 'x')"""
    )
    conn.commit()
    conn.close()
    store = await Store.open(tmp_path / "gw.db")
    assert await store.schema_version() == len(MIGRATIONS)
    assert [r.text for r in await store.outbox()] == ["kept"]
    await store.close()


async def test_a_database_from_a_newer_gateway_is_refused(tmp_path: Path) -> None:
    s = await Store.open(tmp_path / "gw.db")
    await s.close()
    conn = sqlite3.connect(tmp_path / "gw.db")
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'x')")
    conn.commit()
    with pytest.raises(StoreError, match="newer gateway"):
        await Store.open(tmp_path / "gw.db")


async def test_same_listing_twice_is_stored_once(store: Store) -> None:
    assert len(await store.add_inbound("m1", [sms(1, "1 48213")])) == 1
    assert await store.add_inbound("m1", [sms(1, "1 48213")]) == []  # listed again before the delete
    assert len(await store.waiting_messages()) == 1


async def test_after_the_sim_copy_is_deleted_the_index_may_hold_a_new_message(store: Store) -> None:
    await store.add_inbound("m1", [sms(1, "first", pdu="AA")])
    await store.mark_deleted("m1", "SM", [1])
    assert len(await store.add_inbound("m1", [sms(1, "second", pdu="BB")])) == 1


async def test_network_delivering_the_same_sms_twice_makes_one_message(store: Store) -> None:
    # identical PDU (same SMSC timestamp) at another index: the SMSC missed our acknowledgement
    await store.add_inbound("m1", [sms(1, "1 48213", pdu="SAME")])
    assert await store.add_inbound("m1", [sms(2, "1 48213", pdu="SAME")]) == []
    await store.mark_deleted("m1", "SM", [1, 2])
    assert await store.add_inbound("m1", [sms(3, "1 48213", pdu="SAME")]) == []  # also after the delete
    assert len(await store.waiting_messages()) == 1
    # the same text sent again by the customer has another timestamp, hence another PDU
    assert len(await store.add_inbound("m1", [sms(4, "1 48213", pdu="LATER")])) == 1


async def test_part_delivered_again_after_its_message_was_complete_is_a_duplicate(store: Store) -> None:
    await store.add_inbound("m1", [part(1, "1 482", 7, 2, 1), part(2, "13", 7, 2, 2)], assemble=assemble)
    again = part(2, "13", 7, 2, 2)  # the very same PDU, now at index 3
    await store.add_inbound(
        "m1",
        [InboundItem("SM", 3, again.pdu, "part", sender=again.sender, text="13", concat=again.concat)],
        assemble=assemble,
    )
    assert await store.release_incomplete(datetime.now(UTC) + timedelta(hours=1), release=release) == []
    assert [m.text for m in await store.waiting_messages()] == ["1 48213"]


async def test_parts_out_of_order_become_one_message(store: Store) -> None:
    created = await store.add_inbound("m1", [part(3, "C", 9, 3, 3), part(1, "A", 9, 3, 1)], assemble=assemble)
    assert created == []
    created = await store.add_inbound("m1", [part(2, "B", 9, 3, 2)], assemble=assemble)
    [message] = await store.waiting_messages()
    assert created == [message.id] and message.text == "ABC" and message.parts == 3 and message.complete


async def test_duplicate_part_is_ignored(store: Store) -> None:
    await store.add_inbound("m1", [part(1, "A", 9, 2, 1), part(2, "A", 9, 2, 1)], assemble=assemble)
    assert await store.waiting_messages() == []
    await store.add_inbound("m1", [part(3, "B", 9, 2, 2)], assemble=assemble)
    assert [m.text for m in await store.waiting_messages()] == ["AB"]


async def test_parts_of_two_senders_with_the_same_reference_stay_apart(store: Store) -> None:
    await store.add_inbound(
        "m1", [part(1, "A", 9, 2, 1, sender="+1"), part(2, "x", 9, 2, 1, sender="+2")], assemble=assemble
    )
    await store.add_inbound(
        "m1", [part(3, "B", 9, 2, 2, sender="+1"), part(4, "y", 9, 2, 2, sender="+2")], assemble=assemble
    )
    assert sorted(m.text for m in await store.waiting_messages()) == ["AB", "xy"]


async def test_reused_reference_releases_the_old_incomplete_message(store: Store) -> None:
    await store.add_inbound("m1", [part(1, "old-1 ", 9, 2, 1)], assemble=assemble)
    created = await store.add_inbound("m1", [part(2, "new-1 ", 9, 2, 1)], assemble=assemble)
    [old] = await store.waiting_messages()
    assert created == [old.id] and old.text.startswith("old-1") and not old.complete
    await store.add_inbound("m1", [part(3, "new-2", 9, 2, 2)], assemble=assemble)
    assert [m.text for m in await store.waiting_messages()][-1] == "new-1 new-2"


async def test_missing_parts_are_released_after_the_window(store: Store) -> None:
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    await store.add_inbound("m1", [part(1, "first ", 9, 3, 1), part(3, "third", 9, 3, 3)], now=t0, assemble=assemble)
    assert await store.release_incomplete(t0 - timedelta(seconds=1), release=release) == []
    [mid] = await store.release_incomplete(t0 + timedelta(minutes=11), release=release)
    [message] = await store.waiting_messages()
    assert message.id == mid and message.text == "first  … third" and message.complete == 0


async def test_undecodable_pdus_are_kept_raw(store: Store, tmp_path: Path) -> None:
    await store.add_inbound("m1", [InboundItem("SM", 4, "07ZZ", "undecodable", error="not hexadecimal")])
    conn = sqlite3.connect(tmp_path / "gw.db")
    assert conn.execute("SELECT pdu, error FROM inbound_pdus").fetchall() == [("07ZZ", "not hexadecimal")]


def _outcome(reply: str | None = "thanks {ref}") -> Outcome:
    return Outcome(
        sender_kind="person",
        phone="+989121234567",
        action="ticket",
        language="fa",
        ticket=NewTicket("outage", "1", "48213", partial(format_ref, "12")),
        reply=(lambda ref: reply.replace("{ref}", ref or "")) if reply else None,
    )


async def test_routing_is_done_at_most_once(store: Store) -> None:
    await store.add_inbound("m1", [sms(1, "1 48213")])
    [message] = await store.waiting_messages()
    ticket, outbox_id = await store.complete_message(message, _outcome())
    assert ticket is not None and ticket.ref == "12-000001" and ticket.id.startswith("12-")
    assert await store.complete_message(message, _outcome()) == (None, None)
    assert len(await store.tickets()) == 1
    [row] = await store.outbox()
    assert row.id == outbox_id and row.text == "thanks 12-000001" and row.modem_hint == "m1" and row.lane == "reply"


async def test_refs_count_up(store: Store) -> None:
    for i in range(3):
        await store.add_inbound("m1", [sms(i, f"1 {i}")])
    for m in await store.waiting_messages():
        await store.complete_message(m, _outcome())
    assert [t.ref for t in await store.tickets()] == ["12-000003", "12-000002", "12-000001"]


async def test_claim_send_and_crash_recovery(store: Store) -> None:
    a = await store.enqueue("+989121234567", "broadcast", lane="broadcast")
    b = await store.enqueue("+989121234568", "reply", lane="reply", modem_hint="m2")
    claimed = await store.claim(lambda rows: assign(rows, Capacity(["m1", "m2"], {"m1", "m2"})).assignments)
    assert [(r.id, r.modem_id, r.status) for r in claimed] == [(b, "m2", "sending"), (a, "m1", "sending")]
    await store.mark_sent(b, OnAir("m2", "2026-11-23", "reply", 1, (7,), 1), 1)
    assert await store.recover() == 1  # the daemon died while "a" was on its way
    [row] = await store.outbox(status="queued")
    assert row.id == a and row.last_error == "interrupted by a restart"
    assert (await store.outbox(status="sent"))[0].refs == "7"


async def test_retry_waits_until_due(store: Store) -> None:
    a = await store.enqueue("+989121234567", "x")
    [_row] = await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    later = datetime.now(UTC) + timedelta(minutes=5)
    await store.mark_retry(a, "network busy", later, 0, code="none")
    assert await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments) == []
    assert await store.next_retry_at() is not None
    due = await store.claim(
        lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments, now=later + timedelta(seconds=1)
    )
    assert [r.id for r in due] == [a] and due[0].attempts == 2


async def test_resumed_multipart_restarts_when_another_sim_takes_it(store: Store) -> None:
    a = await store.enqueue("+989121234567", "x" * 400)
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    on_air = OnAir("m1", "2026-11-23", "notification", 1, (10, 11), 2)
    await store.mark_retry(a, "part 3 failed", datetime.now(UTC) - timedelta(seconds=1), 2, on_air, code="none")
    [same] = await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    assert same.parts_sent == 2  # m1 sends only the missing part
    await store.mark_retry(a, "again", datetime.now(UTC) - timedelta(seconds=1), 2, code="none")
    [other] = await store.claim(lambda rows: assign(rows, Capacity(["m2"], {"m2"})).assignments)  # m1 is down now
    assert other.modem_id == "m2" and other.parts_sent == 0  # a handset only joins parts from one sender


async def test_cli_and_daemon_write_the_same_file(tmp_path: Path) -> None:
    daemon = await Store.open(tmp_path / "gw.db")
    cli = await Store.open(tmp_path / "gw.db")
    before = await daemon.data_version()
    await cli.enqueue("+989121234567", "from the CLI")
    assert await daemon.data_version() != before  # how the daemon notices
    assert [r.text for r in await daemon.outbox()] == ["from the CLI"]
    await cli.close()
    await daemon.close()


async def test_parts_on_air_count_against_the_sims_day_and_keep_their_references(store: Store) -> None:
    a = await store.enqueue("+989121234567", "x" * 400, lane="broadcast")  # three parts
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    await store.mark_sent(a, OnAir("m1", "2026-11-23", "broadcast", 1, (250, 251, 252), 3), 3)
    assert await store.usage_on("2026-11-23") == {"m1": {"broadcast": 3}}
    assert await store.usage_on("2026-11-24") == {}
    assert [r[0] for r in await store.parts_since(datetime.now(UTC) - timedelta(minutes=1))] == ["m1"] * 3


async def test_delivery_reports_settle_a_multipart_message_with_a_wrapped_reference(store: Store) -> None:
    old = await store.enqueue("+989121234567", "old")
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    await store.mark_sent(old, OnAir("m1", "d", "notification", 1, (5,), 1), 1)
    new = await store.enqueue("+989121234567", "y" * 300)  # two parts; reference 5 again (wrapped)
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    await store.mark_sent(new, OnAir("m1", "d", "notification", 1, (4, 5), 2), 2)
    first = await store.apply_report("m1", 5, "+989121234567", 0x00)
    assert first is not None and first.outbox_id == new and first.message_status is None  # one part of two
    assert (await store.apply_report("m1", 4, "09121234567", 0x20)).part_status == "pending"  # still trying
    done = await store.apply_report("m1", 4, "989121234567", 0x00)
    assert done is not None and done.message_status == "delivered"
    assert [r.status for r in await store.outbox()] == ["delivered", "sent"]
    assert await store.apply_report("m1", 9, "+989121234567", 0) is None  # no such reference


async def test_a_failed_report_fails_the_message(store: Store) -> None:
    a = await store.enqueue("+989121234567", "hi")
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    await store.mark_sent(a, OnAir("m1", "d", "notification", 1, (7,), 1), 1)
    update = await store.apply_report("m1", 7, "+989121234567", 0x41)
    assert update is not None and update.message_status == "failed"
    [row] = await store.outbox()
    assert row.status == "failed" and "0x41" in (row.last_error or "")


async def test_a_report_that_comes_before_its_part_is_recorded_is_kept_and_matched(store: Store) -> None:
    a = await store.enqueue("+989121234567", "z" * 200)  # two parts
    await store.claim(lambda rows: assign(rows, Capacity(["m1"], {"m1"})).assignments)
    # the SMSC reports part 1 while part 2 is still on air: no part is recorded yet
    assert await store.apply_report("m1", 30, "+989121234567", 0x00) is None
    await store.mark_sent(a, OnAir("m1", "d", "notification", 1, (30, 31), 2), 2)
    await store.apply_report("m1", 31, "+989121234567", 0x00)
    assert [r.status for r in await store.outbox()] == ["delivered"]


async def test_parts_of_an_abandoned_attempt_do_not_settle_the_message(store: Store) -> None:
    a = await store.enqueue("+989121234567", "y" * 200)  # two parts
    await store.mark_retry(
        a, "boom", None, 1, OnAir("m1", "d", "notification", 1, (7,), 1), code="none"
    )  # part 1 from m1
    await store.mark_sent(a, OnAir("m2", "d", "notification", 1, (40, 41), 2), 2)  # both again from m2
    await store.apply_report("m1", 7, "+989121234567", 0x00)  # the orphan from m1
    update = await store.apply_report("m2", 40, "+989121234567", 0x00)
    assert update is None or update.message_status is None  # m2's part 2 has no report yet
    assert [r.status for r in await store.outbox()] == ["sent"]
    await store.apply_report("m1", 7, "+989121234567", 0x41)  # nor can the orphan fail it
    assert [r.status for r in await store.outbox()] == ["sent"]


def _members(protocol: type) -> list[str]:
    """Its methods, and those of the views it combines."""
    views = [c for c in protocol.__mro__ if getattr(c, "_is_protocol", False) and c.__module__ == protocol.__module__]
    return sorted({n for c in views for n in vars(c) if not n.startswith("_")})


@pytest.mark.parametrize(
    ("module", "name"), [(protocols, n) for n in protocols.__all__] + [(file_views, n) for n in file_views.__all__]
)
def test_the_store_has_every_method_of_each_narrow_view(module: ModuleType, name: str) -> None:
    """mypy proves it (the TYPE_CHECKING blocks of protocols.py and file_views.py); this says it
    without mypy: each view names methods the store (or the file read without one) really has,
    with the same parameters and the same async-ness."""
    view = getattr(module, name)
    implementation = DatabaseFile if module is file_views else Store
    assert _members(view), f"{name} names no method"
    for member in _members(view):
        wanted = getattr(view, member)
        if isinstance(wanted, property):  # an attribute of the instance (the file's path)
            continue
        actual = getattr(implementation, member, None)
        assert actual is not None, f"{implementation.__name__} has no {member} ({name})"
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(wanted), f"{name}.{member}"
        assert [(p.name, p.kind) for p in inspect.signature(actual).parameters.values()] == [
            (p.name, p.kind) for p in inspect.signature(wanted).parameters.values()
        ], f"{name}.{member}"


async def test_a_broadcast_audience_gets_the_language_its_number_says(store: Store) -> None:
    """The rule lives once (phones.number_language); the audience SQL is given it as prefixes."""
    phones = ["+989121234567", "+93701234567", "+9647501234567", "+201001234567", "+447700900123", "+12025550123"]
    summary = await store.build_audience(
        AudienceSpec(files=("list.csv",)), [(p, None) for p in phones], default_language="fa",
        prefixes=language_prefixes(),
    )  # fmt: skip
    assert dict(await store.audience_sample(limit=10)) == {p: number_language(p) for p in phones}
    assert summary.by_language == {"fa": 2, "ar": 2, "en": 2}
