"""Case work at the desk, as an agent does it: ``gateway tickets status|note|assign|show`` on a
real SQLite file (click's runner), what the command prints and what ``show`` then tells."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.exceptions import TicketChanged
from gateway.store import StatusUpdate, Store, TicketRow
from tests.gateway.make_tickets import open_tickets


def cli(db: Path, *args: str, user: str = "sara") -> Result:
    return CliRunner(env={"USER": user}).invoke(main, [*args, "--db", str(db)])


def ticket(db: Path, language: str = "fa") -> TicketRow:
    async def make() -> TicketRow:
        async with await Store.open(db, site="12") as store:
            [made] = await open_tickets(store, 1, language=language)
            return made

    return asyncio.run(make())


def show(db: Path, ref: str) -> dict[str, Any]:
    out = cli(db, "tickets", "show", ref, "--json")
    assert out.exit_code == 0, out.output
    shown: dict[str, Any] = json.loads(out.output)
    return shown


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(n)


def test_an_agent_works_a_ticket_and_every_change_is_in_its_history(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db).ref
    taken = cli(db, "tickets", "status", ref, "in_progress")
    assert taken.exit_code == 0 and f"{ref}: open -> in_progress (by sara)" in taken.output
    noted = cli(db, "tickets", "note", "۱۲-۰۰۰۰۰۱", "crew on the way", "--as", "reza")  # any digit script
    assert noted.exit_code == 0 and f"{ref}: note added (by reza): crew on the way" in noted.output
    assigned = cli(db, "tickets", "assign", ref, "reza")
    assert assigned.exit_code == 0 and f"{ref}: assigned to reza (by sara)" in assigned.output
    closed = cli(db, "tickets", "status", ref, "closed", "--note", "duplicate of a neighbour's report")
    assert closed.exit_code == 0 and "in_progress -> closed" in closed.output
    reopened = cli(db, "tickets", "status", ref, "open", user="layla")  # a closed ticket may be reopened
    assert reopened.exit_code == 0 and f"{ref}: closed -> open (by layla)" in reopened.output

    case = show(db, ref)
    assert (case["status"], case["assigned_to"]) == ("open", "reza")
    assert [(h["by"], h["action"], h["from"], h["to"]) for h in case["history"]] == [
        ("sara", "status", "open", "in_progress"),
        ("reza", "note", None, None),
        ("sara", "assign", None, "reza"),
        ("sara", "status", "in_progress", "closed"),
        ("layla", "status", "closed", "open"),
    ]
    assert [(n["by"], n["text"]) for n in case["notes"]] == [
        ("reza", "crew on the way"),
        ("sara", "duplicate of a neighbour's report"),
    ]
    text = cli(db, "tickets", "show", ref).output
    for line in (
        "assigned_to  reza",
        "sara  status open -> in_progress",
        "reza: crew on the way",
        "sara  assigned to reza",
        "sara  status in_progress -> closed: duplicate of a neighbour's report",
        "layla  status closed -> open",
    ):
        assert line in text, (line, text)


def test_show_keeps_every_field_it_had_and_adds_the_desk_s(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db).ref
    case = show(db, ref)
    assert list(case)[:19] == [
        "id", "ref", "site", "phone", "category", "code", "account", "text", "language", "status",
        "received_at", "modem", "synced_at", "crm_id", "repeat_count", "sync_status", "sync_error", "replies",
        "assigned_to",
    ]  # fmt: skip
    assert (case["assigned_to"], case["notes"], case["history"]) == (None, [], [])
    [message] = case["thread"]
    assert (message["direction"], message["text"], message["modem"]) == ("in", "قطع 40000", "m1")


def test_the_crm_and_the_desk_write_one_history(tmp_path: Path) -> None:
    """A local change by its user's name, the CRM's status update by ``crm`` (with the CRM's note
    and the SMS it asked for), one after the other in the same history and thread."""
    db = tmp_path / "gw.db"
    made = ticket(db)
    assert cli(db, "tickets", "status", made.ref, "in_progress").exit_code == 0

    async def crm_resolves() -> None:
        async with await Store.open(db, site="12") as store:
            update = StatusUpdate(made.id, "resolved", note="cable fixed", notify=True)
            await store.apply_updates([update], lambda t, u: "Power is back.", state={"cursor": "1"})

    asyncio.run(crm_resolves())
    case = show(db, made.ref)
    assert [(h["by"], h["from"], h["to"], h["note"]) for h in case["history"]] == [
        ("sara", "open", "in_progress", None),
        ("crm", "in_progress", "resolved", "cable fixed"),
    ]
    told = case["history"][1]["outbox_id"]
    assert [(t["direction"], t.get("outbox_id"), t["text"]) for t in case["thread"]] == [
        ("in", None, "قطع 40000"),
        ("out", told, "Power is back."),
    ]
    text = cli(db, "tickets", "show", made.ref).output
    assert f"crm  status in_progress -> resolved (customer told: outbox #{told}): cable fixed" in text
    assert "crm: cable fixed" in text


def test_notify_queues_the_status_reply_in_the_customer_s_language_in_the_reply_lane(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db, language="ar").ref
    out = cli(db, "tickets", "status", ref, "resolved", "--notify")
    assert out.exit_code == 0, out.output
    words = "تم حل بلاغ انقطاع رقم ١٢-٠٠٠٠٠١. شكراً لصبركم."
    assert f"(ar, 1 SMS part, outbox #1): {words}" in out.output
    [notice] = show(db, ref)["replies"]
    assert (notice["lane"], notice["status"], notice["text"]) == ("reply", "queued", words)
    assert f"out  #1 reply queued to +989123000000 via m1: {words}" in cli(db, "tickets", "show", ref).output


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("status", "12-999999", "resolved"), 1, "no ticket '12-999999' in "),
        (("status", "12-000001", "done"), 2, "Invalid value for 'STATUS': 'done' is not one of"),
        (("status", "12-000001", "open", "--notify"), 1, "ticket 12-000001 is already open: nothing changed"),
        (("status", "12-000001", "resolved", "--notify", "--note", " "), 1, "the note is empty"),
        (("note", "12-000001", ""), 1, "the note is empty"),
        (("note", "12-000001", "x" * 1001), 1, "the note is 1001 characters long: at most 1000"),
        (("note", "12-999999", "hello"), 1, "no ticket '12-999999' in "),
        (("assign", "12-000001", "CRM"), 1, "'CRM' is the history's name for the CRM"),
        (("assign", "12-000001", "n" * 65), 1, "the assignee name is 65 characters long: at most 64"),
        (("assign", "12-000001", "sara\nx"), 1, "holds a control character"),
        (("status", "12-000001", "resolved", "--as", "crm"), 1, "'crm' is the history's name for the CRM"),
        (("status", "12-000001", "resolved", "--as", ""), 1, "the user name is empty"),
    ],
)
def test_bad_input_gets_one_clear_line_and_nothing_is_written(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    db = tmp_path / "gw.db"
    ticket(db)
    before = (rows(db, "ticket_history"), rows(db, "outbox"))
    out = cli(db, "tickets", *args)
    assert out.exit_code == code and says in out.output, out.output
    assert "Traceback" not in out.output and out.output.count("Error:") == 1
    assert (rows(db, "ticket_history"), rows(db, "outbox")) == before
    assert show(db, "12-000001")["status"] == "open"


def test_a_note_of_1000_characters_is_kept_whole(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db).ref
    note = "ی" * 1000
    assert cli(db, "tickets", "note", ref, note).exit_code == 0
    assert show(db, ref)["notes"][0]["text"] == note


def test_notes_and_names_print_literally(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db).ref
    note = "[bold]not bold[/bold] :smile: \x1b[31mred"
    noted = cli(db, "tickets", "note", ref, note, "--as", "[red]ali")
    assert noted.exit_code == 0
    assert "note added (by [red]ali): [bold]not bold[/bold] :smile: \\x1b[31mred" in noted.output
    assert cli(db, "tickets", "assign", ref, "[/b]mehdi").exit_code == 0
    text = cli(db, "tickets", "show", ref).output
    assert "[red]ali: [bold]not bold[/bold] :smile: \\x1b[31mred" in text
    assert "assigned_to  [/b]mehdi" in text and "\x1b" not in text
    assert show(db, ref)["notes"][0]["text"] == note  # JSON keeps the text as written


def test_a_change_someone_made_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    """Two agents read the same open ticket; the second one's write finds it changed and says so."""
    db = tmp_path / "gw.db"
    made = ticket(db)
    assert cli(db, "tickets", "status", made.ref, "resolved").exit_code == 0

    async def late_write() -> None:
        async with await Store.open(db, site="12") as store:
            await store.change_ticket_status(made.id, "closed", expected="open", actor="reza")

    with pytest.raises(TicketChanged, match=r"ticket 12-000001 changed meanwhile \(it is now resolved\)"):
        asyncio.run(late_write())
    assert [h["to"] for h in show(db, made.ref)["history"]] == ["resolved"]
