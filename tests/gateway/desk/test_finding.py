"""Finding tickets, as an agent does it: ``gateway tickets list`` with its filters on a real
SQLite file (click's runner), and ``--follow`` as a process of its own, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.conversation.refs import format_ref
from gateway.store import InboundItem, NewContact, NewTicket, Outcome, Store

EPOCH = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)  # well in the past: "--since 1h" finds none


def cli(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)])


def listed(db: Path, *args: str) -> list[str]:
    """The refs ``tickets list ARGS --json`` prints, newest first."""
    out = cli(db, "tickets", "list", *args, "--json")
    assert out.exit_code == 0, out.output
    tickets: list[dict[str, Any]] = json.loads(out.output)
    return [t["ref"] for t in tickets]


async def _make(
    db: Path, phone: str, text: str, *, category: str = "outage", account: str | None = "48213",
    at: datetime | None = None,
) -> str:  # fmt: skip
    async with await Store.open(db, site="12") as store:
        start = sum((await store.counts())["inbound_pdus"].values())
        item = InboundItem("SM", start, f"PDU{start}", "sms", sender=phone, text=text)
        await store.add_inbound("m1", [item], now=at)
        [message] = await store.waiting_messages(limit=1)
        made = NewTicket(category, "1", account, partial(format_ref, store.site))
        ticket, _ = await store.complete_message(message, Outcome("person", phone, "ticket", "fa", ticket=made), now=at)
        assert ticket is not None
        return ticket.ref


def make(db: Path, phone: str, text: str, **kw: Any) -> str:
    return asyncio.run(_make(db, phone, text, **kw))


def contacts(db: Path, area: str, *people: tuple[str, str | None]) -> None:
    async def add() -> None:
        async with await Store.open(db, site="12") as store:
            await store.upsert_contacts([NewContact(phone, None, None, area, account) for phone, account in people])

    asyncio.run(add())


def test_each_filter_narrows_the_list(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    a = make(db, "+989121234567", "برق قطع است", account="48213", at=EPOCH)
    b = make(db, "+989121112222", "No POWER on Elm street", category="billing", account="555",
             at=EPOCH + timedelta(hours=2))  # fmt: skip
    c = make(db, "+989351234567", "كهرباء مقطوعة", account=None, at=EPOCH + timedelta(hours=4))
    assert listed(db) == [c, b, a]
    assert listed(db, "--category", "BILLING") == [b]
    # a phone written any way a person writes it
    for phone in ("0912 123 4567", "+98 912-123-4567", "۰۹۱۲۱۲۳۴۵۶۷", "00989121234567"):
        assert listed(db, "--phone", phone) == [a], phone
    assert listed(db, "--account", "۵۵۵") == [b]
    assert listed(db, "--since", "2025-01-01T09:00Z") == [c, b]
    assert listed(db, "--until", "2025-01-01T10:00:00+00:00") == [a]
    assert listed(db, "--since", "2025-01-01T09:00Z", "--until", "2025-01-01T11:00Z") == [b]
    assert listed(db, "--since", "1h") == []  # every ticket was received longer ago than that
    assert listed(db, "--category", "outage", "--since", "2025-01-01T09:00Z") == [c]  # filters combine


def test_search_matches_across_scripts_digits_and_case(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    fa = make(db, "+989121234567", "برق کوچه ۱۲ قطع است")  # Persian ک and digits
    en = make(db, "+989121112222", "No POWER on Elm street 12")
    assert listed(db, "--search", "power") == [en]
    assert listed(db, "--search", "كوچه") == [fa]  # Arabic kaf finds the Persian keh
    assert listed(db, "--search", "کوچه 12") == [fa]  # ASCII digits find Persian ones
    assert listed(db, "--search", "١٢") == [en, fa]  # and Arabic-Indic digits both
    assert listed(db, "--search", "قطـــع") == [fa]  # tatweel is not a letter
    assert listed(db, "--search", "water") == []
    nothing = cli(db, "tickets", "list", "--search", "water")
    assert nothing.exit_code == 0 and "no tickets match" in nothing.output


def test_area_is_the_area_of_the_contact_whose_phone_or_account_the_ticket_has(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    by_phone = make(db, "+989121234567", "قطع", account="1111")
    by_account = make(db, "+989121112222", "قطع", account="2222")  # texted from a phone we do not know
    elsewhere = make(db, "+989351234567", "قطع", account="3333")
    contacts(db, "north", ("+989121234567", None), ("+989129999999", "2222"))
    contacts(db, "south", ("+989351234567", "3333"))
    assert listed(db, "--area", "north") == [by_account, by_phone]
    assert listed(db, "--area", "south") == [elsewhere]
    assert listed(db, "--area", "east") == []


def test_assigned_lists_a_users_tickets(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    first = make(db, "+989121234567", "قطع")
    make(db, "+989121112222", "قطع")
    assert cli(db, "tickets", "assign", first, "reza", "--as", "sara").exit_code == 0
    assert listed(db, "--assigned", "reza") == [first]
    assert listed(db, "--assigned", "sara") == []


def test_bad_filters_get_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    make(db, "+989121234567", "قطع")
    for args, exit_code, says in (
        (("--phone", "call me"), 1, "'call me' is not a phone number"),
        (("--since", "yesterday"), 2, "'yesterday' is neither a time nor a duration"),
        (("--until", "soon"), 2, "'soon' is neither a time nor a duration"),
        (("--search", "  "), 1, "has nothing to look for"),
        (("--area", ""), 1, "the area is empty"),
    ):
        out = cli(db, "tickets", "list", *args)
        assert out.exit_code == exit_code, (args, out.output)
        assert says in out.output, (args, out.output)
        assert "Traceback" not in out.output


def test_customers_text_in_the_list_is_data(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = make(db, "+989121234567", "[bold]x[/bold] \x1b[31m red")
    out = cli(db, "tickets", "list", "--search", "[bold]", "--json")
    assert [t["text"] for t in json.loads(out.output)] == ["[bold]x[/bold] \x1b[31m red"]
    assert listed(db, "--search", "[bold]x") == [ref]


def _read_until(proc: subprocess.Popen[str], wanted: str, deadline: float) -> list[str]:
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if wanted in line:
            return lines
    raise AssertionError(f"{wanted!r} not printed in time; got {lines}")


def test_follow_prints_new_tickets_as_they_arrive_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    old = make(db, "+989121234567", "قطع قدیمی", category="outage")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "tickets", "list", "--db", str(db), "--category", "outage",
         "--follow", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        first = _read_until(proc, old, time.monotonic() + 30)  # what matched when it started
        assert [json.loads(line)["ref"] for line in first] == [old]
        make(db, "+989121112222", "billing question", category="billing")  # filtered out
        new = make(db, "+989351234567", "برق رفت", category="outage")
        arrived = _read_until(proc, new, time.monotonic() + 10)
        assert [json.loads(line)["ref"] for line in arrived] == [new]
        assert json.loads(arrived[0])["text"] == "برق رفت"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert rest == ""
    assert "Traceback" not in err and "Aborted" not in err
    assert err.strip().splitlines()[-1] == "stopped"


def test_follow_in_a_terminal_prints_one_line_per_ticket(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    make(db, "+989121234567", "[red]no power[/red]", category="outage")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "tickets", "list", "--db", str(db), "--follow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        [line] = _read_until(proc, "12-000001", time.monotonic() + 30)
        assert "12-000001  outage  48213  +989121234567  open  [red]no power[/red]" in line
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
