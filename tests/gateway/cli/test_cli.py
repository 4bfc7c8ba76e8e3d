"""The command line, as an operator uses it: real database files, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.conversation.refs import format_ref
from gateway.store import InboundItem, NewTicket, Outcome, Store


def gw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=120)


async def _ticket(db: Path) -> str:
    store = await Store.open(db, site="12")
    await store.add_inbound("m1", [InboundItem("SM", 1, "AA", "sms", sender="+989121234567", text="قطع ۴۸۲۱۳")])
    [message] = await store.waiting_messages()
    ticket, _ = await store.complete_message(
        message,
        Outcome(
            "person",
            "+989121234567",
            "ticket",
            "fa",
            ticket=NewTicket("outage", "1", "48213", lambda seq: format_ref("12", seq)),
            reply=lambda ref: f"ok {ref}",
        ),
    )
    await store.close()
    assert ticket is not None
    return ticket.ref


def test_tickets_list_and_show(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = asyncio.run(_ticket(db))
    runner = CliRunner()
    out = runner.invoke(main, ["tickets", "list", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    [ticket] = json.loads(out.output)
    assert set(ticket) == {
        "id", "ref", "site", "phone", "category", "code", "account", "text",
        "language", "status", "received_at", "modem", "synced_at", "crm_id", "repeat_count",
        "sync_status", "sync_error",
    }  # fmt: skip
    assert (ticket["ref"], ticket["account"], ticket["text"]) == (ref, "48213", "قطع ۴۸۲۱۳")
    shown = runner.invoke(main, ["tickets", "show", "۱۲-۰۰۰۰۰۱", "--json", "--db", str(db)])
    assert shown.exit_code == 0 and json.loads(shown.output)["replies"][0]["text"] == f"ok {ref}"
    missing = runner.invoke(main, ["tickets", "show", "12-999999", "--db", str(db)])
    assert missing.exit_code == 1 and "no ticket '12-999999'" in missing.output


def test_parse_shows_the_decision_without_touching_anything(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        main, ["parse", "OUT1234", "--from", "+447700900123", "--json", "--db", str(tmp_path / "x.db")]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert (result["action"], result["category"], result["account"], result["language"]) == (
        "ticket",
        "outage",
        "1234",
        "en",
    )
    assert result["reply_parts"] == 1 and "1-000123" in result["reply_text"]
    assert not (tmp_path / "x.db").exists()


def test_parse_never_answers_an_alphanumeric_sender() -> None:
    out = CliRunner().invoke(main, ["parse", "1 48213", "--from", "MCI", "--json"])
    assert json.loads(out.output)["action"] == "ignore"


def test_send_queues_and_refuses_a_bad_number(tmp_path: Path) -> None:
    db = str(tmp_path / "gw.db")
    runner = CliRunner()
    ok = runner.invoke(main, ["send", "0912 123 4567", "Power is back.", "--db", db])
    assert ok.exit_code == 0 and "queued #1 to +989121234567" in ok.output
    bad = runner.invoke(main, ["send", "12", "hello", "--db", db])
    assert bad.exit_code == 1 and "not a possible phone number" in bad.output
    rows = json.loads(runner.invoke(main, ["outbox", "list", "--json", "--db", db]).output)
    assert [(r["phone"], r["status"], r["lane"]) for r in rows] == [("+989121234567", "queued", "notification")]


def test_bad_config_exits_1_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "gateway.toml"
    bad.write_text('[site]\nid = "abcd"\n')
    out = CliRunner().invoke(main, ["check-config", "-c", str(bad)])
    assert out.exit_code == 1 and str(bad) in out.output and "site.id" in out.output


def test_check_config_passes_the_shipped_catalogue_and_reports_a_reply_too_long(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["check-config"])
    assert ok.exit_code == 0 and "keywords.toml: ok" in ok.output
    shipped = (Path(__file__).parents[3] / "config" / "keywords.toml").read_text(encoding="utf-8")
    long_en = "Thank you. " * 12 + "Your {label} report is {ref}."
    catalogue = tmp_path / "keywords.toml"
    catalogue.write_text(
        shipped.replace(
            'en = "Thank you. Your {label} report is registered as {ref}. Keep this number; '
            'we will text you when there is news."',
            f'en = "{long_en}"',
        ),
        encoding="utf-8",
    )
    assert long_en in catalogue.read_text(encoding="utf-8")
    config = tmp_path / "gateway.toml"
    config.write_text(f'[replies]\ncatalogue = "{catalogue.name}"\n')
    out = runner.invoke(main, ["check-config", "-c", str(config)])
    assert out.exit_code == 1
    assert "replies.ticket_opened.en takes 2 SMS parts" in out.output and "reply_max_parts" in out.output
    assert "1 reply is too long" in out.output
    config.write_text(f'[replies]\ncatalogue = "{catalogue.name}"\n[conversation]\nreply_max_parts = 2\n')
    assert runner.invoke(main, ["check-config", "-c", str(config)]).exit_code == 0


def test_run_without_modems_says_what_to_do(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["run", "--db", str(tmp_path / "gw.db")])
    assert out.exit_code == 1 and "[[modems]]" in out.output and "--simulate" in out.output


def test_simulate_without_a_running_bank_explains(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["simulate", "sms", "--from", "+989121234567", "1", "--db", str(tmp_path / "gw.db")])
    assert out.exit_code == 1 and "gateway run --simulate" in out.output


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    commands = [["demo"], ["run"], ["parse"], ["send"], ["check-config"], ["tickets", "list"], ["tickets", "show"],
                ["outbox", "list"], ["simulate", "sms"], ["simulate", "sent"]]  # fmt: skip
    for cmd in commands:
        out = runner.invoke(main, [*cmd, "-h"])
        assert out.exit_code == 0 and "Example" in out.output, cmd


def test_run_simulate_text_it_list_tickets_and_stop_with_ctrl_c(tmp_path: Path) -> None:
    """The issue's third user story, with real processes."""
    db = tmp_path / "gw.db"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--simulate", "2", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GATEWAY_CONFIG": ""},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            sent = gw("simulate", "sms", "--from", "+989121234567", "1 48213", "--db", str(db))
            if sent.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sent.returncode == 0, sent.stderr
        tickets: list[dict[str, str]] = []
        while not tickets and time.monotonic() < deadline:
            tickets = json.loads(gw("tickets", "list", "--json", "--db", str(db)).stdout)
            time.sleep(0.1)
        assert [(t["category"], t["account"], t["phone"]) for t in tickets] == [("outage", "48213", "+989121234567")]
        replies: list[dict[str, str]] = []
        while not replies and time.monotonic() < deadline:
            replies = json.loads(gw("simulate", "sent", "--json", "--db", str(db)).stdout)
        assert replies[0]["number"] == "+989121234567" and "ثبت شد" in replies[0]["text"]
    finally:
        daemon.send_signal(signal.SIGINT)
        _, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert '"gateway_stopped"' in err


@pytest.mark.timeout(90)
def test_demo_exits_0_and_its_summary_matches_the_database(tmp_path: Path) -> None:
    out = gw("demo", "--dir", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stdout + out.stderr
    opened = int(re.search(r"Tickets opened: (\d+)", out.stdout).group(1))  # type: ignore[union-attr]
    replies = int(re.search(r"Replies and notices sent: (\d+)", out.stdout).group(1))  # type: ignore[union-attr]
    tickets = json.loads(gw("tickets", "list", "--json", "--db", str(tmp_path / "demo" / "gateway.db")).stdout)
    outbox = json.loads(gw("outbox", "list", "--json", "--db", str(tmp_path / "demo" / "gateway.db")).stdout)
    assert opened == len(tickets) >= 8
    assert replies == len([r for r in outbox if r["status"] == "sent" and r["lane"] != "broadcast"])
    assert {t["language"] for t in tickets} == {"fa", "ar", "en"}
    assert [(t["ref"], t["repeat_count"]) for t in tickets if t["repeat_count"]] == [("12-000002", 1)]
    assert "Request 12-000001 (outage): registered." in out.stdout  # STATUS by the owner
    assert "لا يوجد طلب برقم ١٢-٠٠٠٠٠١" in out.stdout  # ... and by someone else
    assert "pushed: the CRM now holds 11 tickets, each once (1 updated with a repeat count" in out.stdout
    assert "SMS to +989121234567 via m2: گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۲ رسیدگی شد." in out.stdout
    assert all(t["sync_status"] == "synced" and t["crm_id"] for t in tickets)
    assert "campaign 1: 7 recipient(s) (1 ar, 1 en, 5 fa); 1 opted-out number(s) left out" in out.stdout
    assert "fa: برق شمال وصل شد." in out.stdout and "Broadcast messages sent: 7" in out.stdout
    assert "MISMATCH" not in out.stdout


def test_run_with_a_config_file_serves_the_modems_it_lists(tmp_path: Path) -> None:
    """The issue's fourth user story: [[modems]] in gateway.toml; the emulator only stands in
    for the serial devices (it runs in this process, as a USB modem would outside the daemon)."""
    from sim_bank.simulator import EmulatorBank

    with EmulatorBank(2, tmp_path / "dev") as bank:
        config = tmp_path / "gateway.toml"
        modems = "".join(
            f'[[modems]]\nid = "{e.modem_id}"\nport = "{e.link}"\nbaudrate = 115200\nnumber = "{e.own_number}"\n'
            for e in bank.emulators
        )
        config.write_text(f'[site]\nid = "7"\n[storage]\ndatabase = "data/gw.db"\n[logging]\nformat = "json"\n{modems}')
        daemon = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            bank.get("m2").inject_sms("+989121234567", "2 77031")
            while not bank.get("m2").sent and time.monotonic() < deadline:
                time.sleep(0.05)
            [reply] = bank.get("m2").sent
            assert reply.number == "+989121234567" and "۷-۰۰۰۰۰۱" in reply.text
        finally:
            daemon.send_signal(signal.SIGINT)
            _, err = daemon.communicate(timeout=30)
        assert daemon.returncode == 0, err
        tickets = json.loads(gw("tickets", "list", "--json", "-c", str(config)).stdout)
        assert [(t["ref"], t["category"], t["modem"]) for t in tickets] == [("7-000001", "billing", "m2")]
        assert (tmp_path / "data" / "gw.db").exists()  # relative to the config file
