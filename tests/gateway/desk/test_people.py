"""People by hand, as a supervisor does it: ``gateway optouts list|add|remove``, ``gateway
contacts remove``, ``gateway groups drop|remove`` on a real SQLite file (click's runner)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.store import AudienceSpec, NewContact, Store
from tests.gateway.harness import Harness, eventually
from tests.gateway.make_tickets import opt_out

ALI, SARA, REZA = "+989121234567", "+989121112222", "+989351234567"


def cli(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)])


def as_json(db: Path, *args: str) -> Any:
    out = cli(db, *args, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def store_does(db: Path, work: Any) -> Any:
    async def run() -> Any:
        async with await Store.open(db, site="12") as store:
            return await work(store)

    return asyncio.run(run())


def outbox(db: Path) -> dict[tuple[str, str], str]:
    """(phone, lane) -> status, as ``gateway outbox list`` shows the rows."""
    return {(r["phone"], r["lane"]): r["status"] for r in as_json(db, "outbox", "list")}


def test_an_opt_out_by_hand_is_the_state_stop_sets_and_cancels_waiting_broadcasts(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"

    async def queue(store: Store) -> None:
        for phone in (ALI, SARA):
            await store.enqueue(phone, "power is back in the north", lane="broadcast")
            await store.enqueue(phone, "your request 12-000001 is registered", lane="reply")
        await opt_out(store, REZA)  # REZA texts STOP

    store_does(db, queue)
    added = cli(db, "optouts", "add", "0912 123 4567")  # ALI, written as people write it
    assert added.exit_code == 0, added.output
    assert added.output == f"{ALI} opted out: no more broadcasts; 1 waiting broadcast(s) cancelled\n"
    rows = outbox(db)
    assert rows[(ALI, "broadcast")] == "cancelled"  # as STOP cancels them
    assert rows[(ALI, "reply")] == "queued"  # answers about their own request still go
    assert rows[(SARA, "broadcast")] == "queued"
    listed = as_json(db, "optouts", "list")
    assert [r["phone"] for r in listed] == [ALI, REZA]  # latest first; STOP's and the desk's alike
    assert set(listed[0]) == {"phone", "language", "opted_out_at"}
    assert listed[1]["language"] == "en"
    text = cli(db, "optouts", "list").output
    assert ALI in text and REZA in text

    again = cli(db, "optouts", "add", ALI)
    assert again.exit_code == 1 and f"{ALI} has opted out already: nothing changed" in again.output

    back = cli(db, "optouts", "remove", "۰۹۱۲۱۲۳۴۵۶۷")  # START by hand, in Persian digits
    assert back.exit_code == 0 and back.output == f"{ALI} opted in again: later broadcasts reach it\n"
    assert [r["phone"] for r in as_json(db, "optouts", "list")] == [REZA]
    assert cli(db, "optouts", "remove", REZA).exit_code == 0  # a STOP by SMS is taken back the same way
    assert as_json(db, "optouts", "list") == []


def test_removing_an_opt_out_that_is_not_there_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    store_does(db, lambda store: opt_out(store, REZA))
    out = cli(db, "optouts", "remove", SARA)
    assert out.exit_code == 1
    assert out.output == f"Error: no opt-out for {SARA} in {db}\n"
    bad = cli(db, "optouts", "add", "call me")
    assert bad.exit_code == 1 and bad.output.startswith("Error: 'call me' is not a phone number")
    assert [r["phone"] for r in as_json(db, "optouts", "list")] == [REZA]


def _contacts(store: Store) -> Any:
    return store.upsert_contacts(
        [NewContact(ALI, "Ali", "fa", "north", None), NewContact(SARA, "Sara", "fa", "north", None)], "north"
    )


def test_contacts_remove_takes_a_contact_out_of_its_groups(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    store_does(db, _contacts)
    store_does(db, lambda store: store.upsert_contacts([NewContact(ALI, None, None, None, None)], "volunteers"))
    out = cli(db, "contacts", "remove", "+98 912 123 4567")
    assert out.exit_code == 0 and out.output == f"removed contact {ALI} (taken out of north, volunteers)\n"
    assert [c["phone"] for c in as_json(db, "contacts", "list")] == [SARA]
    assert as_json(db, "groups", "list") == [{"group": "north", "contacts": 1}]
    missing = cli(db, "contacts", "remove", ALI)
    assert missing.exit_code == 1 and missing.output == f"Error: no contact {ALI} in {db}\n"


def test_groups_drop_and_remove_one_member(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    store_does(db, _contacts)
    store_does(db, lambda store: store.upsert_contacts([NewContact(REZA, None, None, None, None)], "south"))
    took = cli(db, "groups", "remove", "north", "09121234567")
    assert took.exit_code == 0 and took.output == f"took {ALI} out of group north\n"
    assert as_json(db, "groups", "list") == [{"group": "north", "contacts": 1}, {"group": "south", "contacts": 1}]
    not_in = cli(db, "groups", "remove", "north", ALI)
    assert not_in.exit_code == 1 and not_in.output == f"Error: {ALI} is not in group 'north'\n"
    no_group = cli(db, "groups", "remove", "east", ALI)
    assert no_group.exit_code == 1 and no_group.output == f"Error: no group 'east' in {db}\n"

    dropped = cli(db, "groups", "drop", "north")
    assert dropped.exit_code == 0 and dropped.output == "dropped group north (1 member(s); the contacts stay)\n"
    assert as_json(db, "groups", "list") == [{"group": "south", "contacts": 1}]
    assert sorted(c["phone"] for c in as_json(db, "contacts", "list")) == sorted([ALI, SARA, REZA])  # people stay
    again = cli(db, "groups", "drop", "north")
    assert again.exit_code == 1 and again.output == f"Error: no group 'north' in {db}\n"


def test_removals_on_a_missing_database_name_it(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"
    out = cli(db, "groups", "drop", "north")
    assert out.exit_code == 1 and str(db) in out.output
    assert not db.exists()


async def test_an_opt_out_by_hand_keeps_a_queued_broadcast_from_leaving(harness: Harness) -> None:
    from gateway.broadcast.operations import BroadcastRequest, broadcast, campaign_status

    people = [NewContact(phone, None, "fa", "north", None) for phone in (ALI, SARA, REZA)]
    async with await Store.open(harness.database, site="12") as store:
        await store.upsert_contacts(people, "north")
    request = BroadcastRequest("restored", {"area": "شمال"}, AudienceSpec(groups=("north",)))
    plan, campaign_id, _ = await broadcast(harness.config, request, dry_run=False)  # queued before the daemon runs
    assert campaign_id is not None and plan.audience.by_language == {"fa": 3}
    added = await asyncio.to_thread(cli, harness.database, "optouts", "add", "0912-111-2222")  # SARA
    assert added.exit_code == 0 and "1 waiting broadcast(s) cancelled" in added.output, added.output

    await harness.start()

    async def finished() -> bool:
        return (await campaign_status(harness.config, campaign_id))["status"] == "done"

    await eventually(finished, 30)
    sent = {m.number: m.text for e in harness.emulators for m in e.sent}
    assert sent == {ALI: plan.rendered["fa"].text, REZA: plan.rendered["fa"].text}  # the modems' decoded texts
    assert "شمال" in sent[ALI]
    status = await campaign_status(harness.config, campaign_id)
    assert (status["sent"], status["cancelled_messages"]) == (2, 1)
