"""The desk's changes to tickets are in the audit log too, with who made them, in the change's
own transaction: ``gateway tickets status|note|assign|reply`` at the command line, a user's
change through the API (``on_behalf``), and none for the CRM's status updates."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.store import Store, TicketRow
from gateway.store import audit as audit_log
from tests.gateway.make_tickets import open_tickets


def cli(db: Path, *args: str, user: str = "sara") -> Result:
    return CliRunner(env={"USER": user}).invoke(main, [*args, "--db", str(db)])


def ticket(db: Path) -> TicketRow:
    async def make() -> TicketRow:
        async with await Store.open(db, site="12") as store:
            [made] = await open_tickets(store, 1, language="en")
            return made

    return asyncio.run(make())


def entries(db: Path) -> list[dict[str, Any]]:
    out = cli(db, "audit", "list", "--json")
    assert out.exit_code == 0, out.output
    return list(reversed(json.loads(out.output)))  # oldest first


def test_each_change_at_the_desk_is_audited_with_its_actor(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = ticket(db).ref
    assert cli(db, "tickets", "status", ref, "in_progress", "--notify").exit_code == 0  # $USER: sara
    assert cli(db, "tickets", "note", ref, "crew on the way", "--as", "reza").exit_code == 0
    assert cli(db, "tickets", "assign", ref, "ali").exit_code == 0
    assert cli(db, "tickets", "reply", ref, "A crew is at the substation.").exit_code == 0
    refused = cli(db, "tickets", "status", ref, "in_progress")  # the status it has: nothing written
    assert refused.exit_code == 1

    found = entries(db)
    assert [(e["action"], e["target"], e["actor"], e["actor_kind"], e["address"]) for e in found] == [
        ("ticket.status_changed", ref, "sara", "local", "local"),
        ("ticket.noted", ref, "reza", "local", "local"),
        ("ticket.assigned", ref, "sara", "local", "local"),
        ("ticket.replied", ref, "sara", "local", "local"),
    ]
    history = json.loads(cli(db, "tickets", "show", ref, "--json").output)["history"]
    assert found[0]["detail"] == {
        "history_id": history[0]["id"], "from": "open", "to": "in_progress", "outbox_id": history[0]["outbox_id"],
    }  # fmt: skip
    assert found[2]["detail"] == {"history_id": history[2]["id"], "to": "ali"}
    assert "crew on the way" not in json.dumps(found)  # the note's words stay in the ticket's history


def test_a_change_through_the_api_names_the_user_and_the_address(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    made = ticket(db)

    async def change() -> None:
        async with await Store.open(db, site="12") as store:
            with audit_log.on_behalf("user", "10.0.0.7"):
                await store.add_ticket_note(made.id, "called the customer back", actor="sara")
            await store.assign_ticket(made.id, "reza", expected=None, actor="ops")  # outside: a local account

    asyncio.run(change())
    assert [(e["action"], e["actor"], e["actor_kind"], e["address"]) for e in entries(db)] == [
        ("ticket.noted", "sara", "user", "10.0.0.7"),
        ("ticket.assigned", "ops", "local", "local"),
    ]


def test_the_crms_status_updates_are_not_a_persons_writes(tmp_path: Path) -> None:
    from gateway.store.desk import CRM_ACTOR

    db = tmp_path / "gw.db"
    made = ticket(db)

    async def crm_update() -> None:
        async with await Store.open(db, site="12") as store:
            await store.change_ticket_status(made.id, "resolved", expected="open", actor=CRM_ACTOR)

    asyncio.run(crm_update())
    assert entries(db) == []
    assert json.loads(cli(db, "tickets", "show", made.ref, "--json").output)["history"][0]["by"] == "crm"


def test_people_by_hand_are_audited_and_a_refusal_writes_no_entry(tmp_path: Path) -> None:
    from gateway.store import NewContact

    db = tmp_path / "gw.db"
    ali, sara = "+989121234567", "+989121112222"

    async def contacts() -> None:
        async with await Store.open(db, site="12") as store:
            await store.upsert_contacts([NewContact(ali, "Ali"), NewContact(sara, "Sara")], group="north")

    asyncio.run(contacts())
    assert cli(db, "optouts", "add", "0912 123 4567").exit_code == 0
    assert cli(db, "optouts", "add", ali).exit_code == 1  # already: nothing written
    assert cli(db, "optouts", "remove", ali, "--as", "reza").exit_code == 0
    assert cli(db, "groups", "remove", "north", sara).exit_code == 0
    assert cli(db, "contacts", "remove", ali).exit_code == 0
    assert cli(db, "groups", "drop", "north", "--as", "reza").exit_code == 1  # empty now: no such group
    assert cli(db, "groups", "drop", "east").exit_code == 1
    assert [(e["action"], e["target"], e["actor"], e["detail"]) for e in entries(db)] == [
        ("optout.added", ali, "sara", {"cancelled": 0}),
        ("optout.removed", ali, "reza", {}),
        ("group.member_removed", "north", "sara", {"phone": sara}),
        ("contact.removed", ali, "sara", {"groups": ["north"]}),
    ]
    blank = cli(db, "optouts", "add", sara, "--as", "crm")
    assert blank.exit_code == 1 and "the history's name for the CRM" in blank.output
    assert len(entries(db)) == 4


def test_a_contacts_import_is_one_audit_entry_with_its_counts_and_a_file_of_nothing_none(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    people = tmp_path / "north.csv"
    people.write_text("phone,name,area\n0912 123 4567,Ali,north\n+989121112222,Sara,north\nnot a number,X,north\n")
    out = cli(db, "contacts", "import", str(people), "--group", "north", user="reza")
    assert out.exit_code == 0, out.output
    again = cli(db, "contacts", "import", str(people), user="reza")
    assert again.exit_code == 0, again.output
    empty = tmp_path / "empty.csv"
    empty.write_text("phone,name\n")
    assert cli(db, "contacts", "import", str(empty)).exit_code == 0
    assert [(e["action"], e["target"], e["actor"], e["detail"]) for e in entries(db)] == [
        ("contacts.imported", "north", "reza",
         {"file": "north.csv", "new": 2, "updated": 0, "duplicates": 0, "skipped": 1}),
        ("contacts.imported", None, "reza",
         {"file": "north.csv", "new": 0, "updated": 2, "duplicates": 0, "skipped": 1}),
    ]  # fmt: skip
