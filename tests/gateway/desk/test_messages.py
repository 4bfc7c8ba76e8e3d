"""Everything a phone said, as an agent reads it: ``gateway messages list|show``, ``gateway
thread`` and ``gateway outbox show`` (click's runner) on a real SQLite file whose rows were
made by the real intake and routing path (``Store.add_inbound``, ``Routing``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.config import parse
from gateway.conversation.keywords import load_catalogue
from gateway.inbound.routing import Routing
from gateway.runtime import WallFunction
from gateway.store import InboundItem, OnAir, Store
from gateway.store.threads import SQL

A, B = "+989121111111", "+989122222222"
NOW = datetime.now(UTC).replace(microsecond=0)
# (sender, text, minutes ago, alphanumeric): A reports, repeats, is flooded, stops; B goes through the menu
TALK: list[tuple[str, str, float, bool]] = [
    (A, "قطع ۴۸۲۱۳", 180, False),  # a ticket, three hours ago
    (B, "سلام", 50, False),  # not a code: the menu
    (B, "۱", 49, False),  # a menu choice: asked for the account
    (B, "۵۵۱۲۰", 48, False),  # the account: a ticket
    (A, "قطع ۴۸۲۱۳", 40, False),  # too late to be a repeat of the first (window): a second ticket
    (A, "۲ ۷۷۱۲۳", 30, False),  # a third report within the hour: past the ticket limit, silent
    (A, "[bold]\x1b[31m", 20, False),  # unknown text (markup and an escape): the menu again
    (A, "STOP", 10, False),
    ("MCI", "Your balance is 10,000", 5, True),  # an operator's alphanumeric sender: never answered
]


def cli(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)])


def talk(db: Path, lines: Sequence[tuple[str, str, float, bool]] = TALK) -> None:
    """Each SMS committed by intake at its time, then routed a second later, as the daemon does."""
    config = parse(
        {"site": {"id": "12"}, "modems": [{"id": "m1", "port": "/dev/null"}], "conversation": {
            "max_tickets_per_hour": 1, "repeat_window": 600}},
        Path("gateway.toml"),
    )  # fmt: skip

    async def run() -> None:
        async with await Store.open(db, site="12") as store:
            for i, (sender, text, ago, alpha) in enumerate(lines):
                at = NOW - timedelta(minutes=ago)
                item = InboundItem("SM", i, f"PDU{i}", "sms", sender=sender, alphanumeric=alpha, text=text)
                await store.add_inbound("m1", [item], now=at)
                clock = WallFunction(lambda at=at: at + timedelta(seconds=1))
                await Routing(store, load_catalogue(), config, on_reply=lambda: None, clock=clock).route_waiting()

    asyncio.run(run())


def listing(db: Path, *args: str) -> list[dict[str, Any]]:
    out = cli(db, "messages", "list", *args, "--json")
    assert out.exit_code == 0, out.output
    found: list[dict[str, Any]] = json.loads(out.output)
    return found


def test_a_phones_thread_has_every_sms_in_and_out_with_how_each_was_routed(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    shown = json.loads(cli(db, "thread", "0912 111 1111", "--json").output)  # typed the national way
    assert (shown["phone"], shown["opted_out"]) == (A, True)
    assert [(t["ref"], t["status"], t["account"]) for t in shown["tickets"]] == [
        ("12-000001", "open", "48213"),
        ("12-000003", "open", "48213"),
    ]
    assert [(m["id"], m.get("routed"), m["text"]) for m in shown["messages"] if m["direction"] == "in"] == [
        ("in-1", "opened 12-000001", "قطع ۴۸۲۱۳"),
        ("in-5", "opened 12-000003", "قطع ۴۸۲۱۳"),
        ("in-6", "not answered: too many tickets this hour", "۲ ۷۷۱۲۳"),
        ("in-7", "menu (not a code we know)", "[bold]\x1b[31m"),
        ("in-8", "STOP (no more broadcasts)", "STOP"),
    ]
    # in time order, each reply right after the message it answers, with its state
    assert [(m["id"], m.get("answers"), m.get("status")) for m in shown["messages"]][:4] == [
        ("in-1", None, None),
        ("out-1", "in-1", "queued"),
        ("in-5", None, None),
        ("out-5", "in-5", "queued"),
    ]
    text = cli(db, "thread", "+98 912 111 1111").output
    for line in (
        "broadcasts  opted out (STOP)",
        "12-000001  open  outage",
        "in-1  from +989121111111 via m1  [opened 12-000001]: قطع ۴۸۲۱۳",
        "out-1  to +989121111111 via m1  [reply queued (12-000001)]: درخواست «قطعی» با شماره ۱۲-۰۰۰۰۰۱ ثبت شد.",
        "in-6  from +989121111111 via m1  [not answered: too many tickets this hour]: ۲ ۷۷۱۲۳",
        "[menu (not a code we know)]: [bold]\\x1b[31m",  # the customer's text literally: no markup, no escape
        "in-8  from +989121111111 via m1  [STOP (no more broadcasts)]: STOP",
    ):
        assert line in text, line
    assert "\x1b" not in text


def test_a_phone_is_read_however_a_person_types_it(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    for typed in ("09122222222", "0912 222 2222", "0912-222-2222", "۰۹۱۲ ۲۲۲ ۲۲۲۲", "٠٩١٢٢٢٢٢٢٢٢", "+98 912 222 2222"):
        assert json.loads(cli(db, "thread", typed, "--json").output)["phone"] == B, typed
    menu = [(m["id"], m["routed"]) for m in listing(db, "--phone", "۰۹۱۲۲۲۲۲۲۲۲", "--direction", "in")]
    assert menu == [
        ("in-4", "opened 12-000002"),
        ("in-3", "menu: chose a code, asked for the account"),
        ("in-2", "menu (not a code we know)"),
    ]
    for bad, why in (("0912", "length or start of a mobile number"), ("sara", "not a phone number")):
        out = cli(db, "thread", bad)
        assert out.exit_code == 1
        assert f"Error: cannot read '{bad}' as a phone number" in out.output and why in out.output
        assert "0912 123 4567" in out.output
    assert cli(db, "messages", "list", "--phone", "12").exit_code == 1


def test_messages_list_filters_by_direction_and_time_and_shows_machines_too(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    everything = listing(db, "--limit", "100")
    assert len(everything) == 9 + 7  # every SMS received; every reply (the flood and the operator got none)
    assert everything[0]["id"] == "in-9" and everything[0]["sender"] == "MCI"  # newest first
    assert everything[0]["routed"] == "never answered: alphanumeric sender" and everything[0]["phone"] is None
    assert [m["id"] for m in listing(db, "--direction", "out", "--limit", "2")] == ["out-7", "out-6"]
    recent = listing(db, "--since", "2h")  # the report three hours ago is left out
    assert "in-1" not in [m["id"] for m in recent] and "in-5" in [m["id"] for m in recent]
    iso = (NOW - timedelta(minutes=15)).isoformat()
    assert [m["id"] for m in listing(db, "--since", iso, "--direction", "in")] == ["in-9", "in-8"]
    bad = cli(db, "messages", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is neither a time nor a duration" in bad.output
    text = cli(db, "messages", "list", "--direction", "in", "--limit", "1").output
    assert "in-9  from MCI via m1  [never answered: alphanumeric sender]: Your balance is 10,000" in text


def test_messages_show_a_message_received_and_an_outbox_row(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    shown = json.loads(cli(db, "messages", "show", "in-4", "--json").output)
    assert (shown["routed"], shown["ticket"], shown["language"]) == ("opened 12-000002", "12-000002", "fa")
    assert [(r["id"], r["text"]) for r in shown["answered_by"]] == [
        ("out-4", "درخواست «قطعی» با شماره ۱۲-۰۰۰۰۰۲ ثبت شد. خبرها را پیامک می‌کنیم.")
    ]
    text = cli(db, "messages", "show", "IN-۴").output  # any case, any digits
    assert "routed  opened 12-000002" in text and "answered by" in text and "out-4  to +989122222222" in text
    out = cli(db, "messages", "show", "out-4").output
    assert "answers  in-4" in out and "no part has gone on air yet" in out
    for bad, answer in (
        ("12", "which message is 12? Write in-12 for the message received with that id, out-12 for the outbox row"),
        ("msg-3", "'msg-3' is not a message id: write in-ID (received) or out-ID (outbox), e.g. in-12"),
        ("in-99", f"no message in-99 in {db}"),
        ("out-99", f"no outbox row 99 in {db}"),
    ):
        result = cli(db, "messages", "show", bad)
        assert result.exit_code == 1 and result.output == f"Error: {answer}\n", result.output


def test_outbox_show_gives_each_part_its_sim_and_delivery_state(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"

    async def send() -> int:
        async with await Store.open(db, site="12") as store:
            row_id = await store.enqueue(A, "long " * 60, lane="notification")  # two parts
            [row] = await store.claim(lambda rows: {rows[0].id: "m2"})
            await store.mark_retry(row.id, "+CMS ERROR: 38", None, 1, OnAir("m2", "2026-12-02", "notification", 1,
                                   (7,), 1), code="38")  # fmt: skip
            [row] = await store.claim(lambda rows: {rows[0].id: "m1"})
            await store.mark_sent(row.id, OnAir("m1", "2026-12-02", "notification", 1, (40, 41), 2), 2)
            await store.apply_report("m1", 40, A, 0x00)  # part 1 delivered
            await store.apply_report("m1", 41, A, 0x20)  # part 2: the SMSC still trying
            return row_id

    row_id = asyncio.run(send())
    shown = json.loads(cli(db, "outbox", "show", str(row_id), "--json").output)
    assert (shown["status"], shown["modem_id"], shown["attempts"], shown["parts"]) == ("sent", "m1", 2, 2)
    assert [(p["part"], p["modem"], p["reference"], p["status"], p["report"]) for p in shown["sent_parts"]] == [
        (1, "m2", 7, "superseded", None),  # the first attempt's part, on the SIM that then failed
        (1, "m1", 40, "delivered", 0x00),
        (2, "m1", 41, "pending", 0x20),
    ]
    text = cli(db, "outbox", "show", f"out-{row_id}").output
    assert "attempts  2" in text and "sim  m1" in text
    assert "delivered" in text and "superseded" in text and "0x20" in text
    for bad in ("x1", "in-1"):
        result = cli(db, "outbox", "show", bad)
        assert result.exit_code == 2 and f"{bad!r} is not an outbox id: write 45 or out-45" in result.output


def test_the_listing_queries_go_by_an_index(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    conn = sqlite3.connect(db)
    try:

        def plan(name: str) -> str:
            sql = SQL[name].format(marks="?, ?", phones="?", ids="?, ?")
            return " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", [1] * sql.count("?")))

        assert "USING INDEX messages_phone (phone=? AND received_at>?)" in plan("in_by_phone")
        assert "USING INDEX outbox_phone (phone=? AND created_at>?)" in plan("out_by_phone")
        assert "USING INDEX outbox_created" in plan("out_newest")
        assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan("in_after")
        assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan("out_after")
        assert "USING INDEX outbox_phone" in plan("reply_ids")
        assert "USING INDEX outbox_parts_outbox" in plan("parts")
        assert "USING INDEX tickets_phone" in plan("phone_tickets")
        for name in ("in_by_phone", "out_by_phone", "in_newest", "out_newest", "in_after", "out_after"):
            assert "TEMP B-TREE" not in plan(name), name  # newest first without sorting the table
    finally:
        conn.close()
