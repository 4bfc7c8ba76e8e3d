"""Replies by hand, as an agent types them: ``gateway tickets reply`` on a real SQLite file
(click's runner), what it prints, what is queued, and what ``tickets show`` then tells."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.store import SimStatusRow, Store, TicketRow, stamp
from tests.gateway.make_tickets import open_tickets

NOTICES = """
[crew]
description = "A crew is on its way to the customer"
variables = { ref = "12-000001", eta = "18:00" }
fa = "گروه فنی برای درخواست {ref} در راه است. رسیدن تا ساعت {eta}."
ar = "فريق الصيانة في الطريق لبلاغكم {ref}. الوصول حوالي {eta}."
en = "A crew is on its way for your report {ref}. Arriving around {eta}."
"""


def setup(tmp_path: Path, language: str = "fa", max_parts: int = 1) -> tuple[Path, Path, TicketRow]:
    """A database with one ticket, and a gateway.toml with its own notices."""
    db, notices, config = tmp_path / "gw.db", tmp_path / "notices.toml", tmp_path / "gateway.toml"
    notices.write_text(NOTICES)
    config.write_text(f'[broadcast]\ntemplates = "{notices}"\n[conversation]\nreply_max_parts = {max_parts}\n')

    async def make() -> TicketRow:
        async with await Store.open(db, site="12") as store:
            [made] = await open_tickets(store, 1, language=language)
            return made

    return db, config, asyncio.run(make())


def cli(db: Path, config: Path, *args: str, user: str = "sara") -> Result:
    return CliRunner(env={"USER": user}).invoke(main, [*args, "-c", str(config), "--db", str(db)])


def queued(db: Path) -> list[tuple[str, str, str, str | None, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT phone, text, lane, modem_hint, ticket_id FROM outbox ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


def history(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM ticket_history").fetchone()
    return int(n)


def show(db: Path, config: Path, ref: str) -> dict[str, Any]:
    out = cli(db, config, "tickets", "show", ref, "--json")
    assert out.exit_code == 0, out.output
    shown: dict[str, Any] = json.loads(out.output)
    return shown


def test_a_reply_by_hand_is_queued_in_the_reply_lane_and_kept_on_the_ticket(tmp_path: Path) -> None:
    db, config, made = setup(tmp_path)
    out = cli(db, config, "tickets", "reply", made.ref, "A crew is on its way. [bold]Sorry[/bold]")
    assert out.exit_code == 0, out.output
    for line in (
        f"{made.ref}: reply to {made.phone} queued (by sara, outbox #1)",
        "language  fa",
        "parts     1 SMS part (gsm7)",
        "SIM       m1 (the SIM the customer texted)",
        "text      A crew is on its way. [bold]Sorry[/bold]",  # printed literally
    ):
        assert line in out.output, (line, out.output)
    assert queued(db) == [(made.phone, "A crew is on its way. [bold]Sorry[/bold]", "reply", "m1", made.id)]

    case = show(db, config, made.ref)
    [entry] = case["history"]
    assert (entry["by"], entry["action"], entry["to"], entry["outbox_id"]) == ("sara", "reply", None, 1)
    assert case["thread"][-1]["text"] == "A crew is on its way. [bold]Sorry[/bold]"
    text = cli(db, config, "tickets", "show", made.ref).output
    assert "sara  replied (outbox #1)" in text
    assert f"out  #1 reply queued to {made.phone} via m1: A crew is on its way. [bold]Sorry[/bold]" in text


def test_a_template_reply_is_in_the_ticket_s_language_with_its_reference_in_the_customer_s_digits(
    tmp_path: Path,
) -> None:
    db, config, made = setup(tmp_path, language="ar")
    out = cli(db, config, "tickets", "reply", made.ref, "--template", "crew", "--var", "eta=18:30", "--as", "reza",
              "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    entry = json.loads(out.output)
    words = "فريق الصيانة في الطريق لبلاغكم ١٢-٠٠٠٠٠١. الوصول حوالي ١٨:٣٠."
    assert {k: entry[k] for k in ("ref", "by", "action", "to", "outbox_id", "text", "language", "parts", "sim")} == {
        "ref": made.ref, "by": "reza", "action": "reply", "to": "crew", "outbox_id": 1, "text": words,
        "language": "ar", "parts": 1, "sim": "m1",
    }  # fmt: skip
    assert queued(db)[0][1] == words
    assert "reza  replied (outbox #1) with template crew" in cli(db, config, "tickets", "show", made.ref).output


def test_the_shipped_notices_serve_a_hand_reply_too(tmp_path: Path) -> None:
    db, _, made = setup(tmp_path)
    out = CliRunner(env={"USER": "sara"}).invoke(
        main, ["tickets", "reply", made.ref, "--template", "restored", "--var", "area=North 3", "--db", str(db)]
    )
    assert out.exit_code == 0, out.output
    assert "text      برق North ۳ وصل شد. از صبوری شما سپاسگزاریم." in out.output


def test_a_reply_longer_than_reply_max_parts_is_refused_unless_forced(tmp_path: Path) -> None:
    db, config, made = setup(tmp_path, max_parts=1)
    long = "ب" * 71  # two UCS-2 parts
    refused = cli(db, config, "tickets", "reply", made.ref, long)
    assert refused.exit_code == 1
    assert (
        "the reply is 2 SMS parts: more than [conversation] reply_max_parts = 1; shorten it (at most about 70 "
        "characters in Persian/Arabic (UCS-2)) or pass --force"
    ) in refused.output
    assert (queued(db), history(db)) == ([], 0)
    forced = cli(db, config, "tickets", "reply", made.ref, long, "--force")
    assert forced.exit_code == 0 and "parts     2 SMS parts (ucs2)" in forced.output
    assert queued(db)[0][1] == long


def test_the_reply_waits_for_no_sim_that_is_down(tmp_path: Path) -> None:
    """The daemon published that the customer's SIM is down: the reply goes from any healthy SIM."""
    db, config, made = setup(tmp_path)

    async def down() -> None:
        async with await Store.open(db, site="12") as store:
            nothing = dict.fromkeys(f.name for f in fields(SimStatusRow))
            row = {**nothing, "modem_id": "m1", "state": "down", "low_balance": 0, "updated_at": stamp()}
            await store.save_sim_status([SimStatusRow(**row)])

    asyncio.run(down())
    out = cli(db, config, "tickets", "reply", made.ref, "We are on it.")
    assert out.exit_code == 0, out.output
    assert "SIM       any healthy SIM (m1, the SIM the customer texted, is down)" in out.output
    assert queued(db)[0][3] is None


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("12-000001", "--template", "crew"), 1, "notice 'crew' needs eta (fa): add --var eta=..."),
        (("12-000001", "--template", "nope"), 1, "no notice 'nope'; there are: crew"),
        (("12-000001", "--template", "crew", "--var", "eta=1", "--var", "ref=9"), 1,
         "ref is the ticket's own and is filled in for you: leave out --var ref=..."),
        (("12-000001", "a\udcffb"), 1, "the reply cannot be sent as an SMS: text holds unpaired UTF-16 surrogates"),
        (("12-000001", "x" * 153 * 11, "--force"), 1, "the reply is 11 SMS parts: more than any SIM may send in one"),
        (("12-000001", "  "), 1, "the reply is empty: write what the customer should read"),
        (("12-000001", "red \x1b[31m"), 1, "the reply holds a control character (\\x1b): an SMS is plain text"),
        (("12-999999", "hello"), 1, "no ticket '12-999999' in "),
        (("12-000001", "hello", "--as", "crm"), 1, "'crm' is the history's name for the CRM"),
        (("12-000001",), 2, "give the reply's TEXT or --template NAME (one of the two)"),
        (("12-000001", "hello", "--template", "crew"), 2, "give the reply's TEXT or --template NAME"),
        (("12-000001", "hello", "--var", "eta=1"), 2, "--var fills a --template: a TEXT is sent as written"),
        (("12-000001", "--template", "crew", "--var", "eta"), 2, "--var 'eta': write NAME=VALUE"),
    ],
)  # fmt: skip
def test_bad_input_gets_one_clear_line_and_nothing_is_written(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    db, config, _ = setup(tmp_path)
    out = cli(db, config, "tickets", "reply", *args)
    assert out.exit_code == code and says in out.output, out.output
    assert "Traceback" not in out.output and out.output.count("Error:") == 1
    assert (queued(db), history(db)) == ([], 0)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("ب" * 70, 1),  # UCS-2: 70 characters in one part
        ("ب" * 71, 2),
        ("x" * 160, 1),  # GSM-7: 160 in one part
        ("x" * 161, 2),
        ("€" * 80, 1),  # an extension character counts double
        ("€" * 81, 2),
        ("x" * 69 + "ب", 1),  # one Persian letter makes the whole text UCS-2 ...
        ("x" * 70 + "ب", 2),  # ... 70 characters then
    ],
)
def test_a_reply_is_measured_as_the_network_bills_it(tmp_path: Path, text: str, parts: int) -> None:
    db, config, made = setup(tmp_path, max_parts=1)
    out = cli(db, config, "tickets", "reply", made.ref, text)
    if parts == 1:
        assert out.exit_code == 0 and "parts     1 SMS part" in out.output, out.output
    else:
        assert out.exit_code == 1 and "the reply is 2 SMS parts" in out.output, out.output
        assert queued(db) == []


def test_a_template_without_the_ticket_s_language_is_refused(tmp_path: Path) -> None:
    """A ticket the CRM or an older gateway wrote in a language the notices do not have."""
    db, config, made = setup(tmp_path, language="ku")
    out = cli(db, config, "tickets", "reply", made.ref, "--template", "crew", "--var", "eta=18:00")
    assert out.exit_code == 1 and "notice 'crew' has no text in 'ku', the ticket's language" in out.output
    assert queued(db) == []
