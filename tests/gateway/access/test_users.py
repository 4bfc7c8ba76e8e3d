"""Users, as an admin makes them at the command line and the API signs them in: ``gateway users
add|list|disable|enable|passwd`` on a real SQLite file (click's runner), then ``verify_password``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import structlog
from click.testing import CliRunner, Result

from gateway.access.principal import Principal
from gateway.access.users import verify_password
from gateway.cli import main
from gateway.store import Store

PASSWORD = "correct horse battery"  # 21 characters
OTHER = "Tr0ub4dor&3-but-longer"


def cli(db: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)], input=stdin)


def as_json(db: Path, *args: str) -> Any:
    out = cli(db, *args, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def sign_in(db: Path, name: str, password: str) -> Principal | None:
    async def run() -> Principal | None:
        async with await Store.open(db, site="12") as store:
            return await verify_password(store, name, password)

    return asyncio.run(run())


def table_rows(db: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_a_user_added_signs_in_with_their_password_and_not_with_another(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    added = cli(db, "users", "add", "sara", "--role", "agent", "--as", "admin1", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert added.output.endswith("user sara added: agent, language fa (by admin1)\n")  # [site] language: fa
    assert PASSWORD not in added.output  # the prompt hides what is typed

    assert sign_in(db, "sara", PASSWORD) == Principal("sara", "agent", "user", "fa")
    assert sign_in(db, "Sara", PASSWORD) == Principal("sara", "agent", "user", "fa")  # one name in any case
    assert sign_in(db, "sara", OTHER) is None
    assert sign_in(db, "sara", PASSWORD.upper()) is None
    assert sign_in(db, "nobody", PASSWORD) is None
    assert sign_in(db, "", PASSWORD) is None


def test_password_from_stdin_a_language_and_the_listing_without_secrets(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    made = cli(db, "users", "add", "reza", "--role", "supervisor", "--language", "en", "--password-stdin",
               "--as", "admin1", stdin=f"{PASSWORD}\n")  # fmt: skip
    assert made.exit_code == 0 and "user reza added: supervisor, language en" in made.output
    assert cli(db, "users", "add", "ali", "--role", "admin", "--password-stdin", stdin=OTHER + "\n").exit_code == 0

    listed = as_json(db, "users", "list")
    assert [(u["name"], u["role"], u["language"], u["state"]) for u in listed] == [
        ("ali", "admin", "fa", "active"), ("reza", "supervisor", "en", "active"),
    ]  # fmt: skip
    assert set(listed[0]) == {"name", "role", "language", "state", "created_at", "password_changed_at",
                              "disabled_at"}  # fmt: skip
    text = cli(db, "users", "list").output
    assert "reza" in text and "supervisor" in text
    for shown in (text, json.dumps(listed)):
        assert PASSWORD not in shown and OTHER not in shown and "argon2" not in shown
    assert sign_in(db, "reza", PASSWORD) == Principal("reza", "supervisor", "user", "en")


def test_a_disabled_user_is_refused_and_a_new_password_replaces_the_old(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    cli(db, "users", "add", "sara", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    changed = cli(db, "users", "passwd", "sara", "--as", "admin1", stdin=f"{OTHER}\n{OTHER}\n")
    assert changed.exit_code == 0 and changed.output.endswith("password of sara changed (by admin1)\n")
    assert sign_in(db, "sara", PASSWORD) is None
    assert sign_in(db, "sara", OTHER) is not None

    off = cli(db, "users", "disable", "SARA", "--as", "admin1")
    assert off.exit_code == 0 and off.output == "user sara disabled: they can no longer sign in (by admin1)\n"
    assert sign_in(db, "sara", OTHER) is None  # the right password, but disabled
    assert [u["state"] for u in as_json(db, "users", "list")] == ["disabled"]
    again = cli(db, "users", "disable", "sara")
    assert again.exit_code == 1 and "user sara is disabled already: nothing changed" in again.output


def test_a_disabled_user_enabled_again_signs_in_with_the_password_they_had(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    assert cli(db, "users", "add", "sara", "--role", "agent", "--password-stdin", stdin=f"{PASSWORD}\n").exit_code == 0
    not_off = cli(db, "users", "enable", "sara")
    assert not_off.exit_code == 1 and "user sara is not disabled: nothing changed" in not_off.output
    assert cli(db, "users", "disable", "sara").exit_code == 0
    on = cli(db, "users", "enable", "Sara", "--as", "admin1")
    assert on.exit_code == 0 and on.output == "user sara enabled: they may sign in again (by admin1)\n"
    assert sign_in(db, "sara", PASSWORD) == Principal("sara", "agent", "user", "fa")
    assert [u["state"] for u in as_json(db, "users", "list")] == ["active"]
    nobody = cli(db, "users", "enable", "bob")
    assert nobody.exit_code != 0 and "no user 'bob'" in nobody.output
    [entry] = [e for e in as_json(db, "audit", "list") if e["action"] == "user.enabled"]
    assert (entry["target"], entry["actor"]) == ("sara", "admin1")


def test_bad_input_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    cli(db, "users", "add", "sara", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    entries = table_rows(db, "audit_log")

    role = cli(db, "users", "add", "bob", "--role", "integration", "--password-stdin", stdin=PASSWORD + "\n")
    assert role.exit_code == 2 and "Invalid value for '--role': 'integration' is not one of" in role.output
    short = cli(db, "users", "add", "bob", "--role", "agent", "--password-stdin", stdin="short pass\n")
    assert short.exit_code == 1
    assert short.output == "Error: the password is 10 characters long: at least 12 " \
        "(a few words in a row are easier to remember than symbols)\n"  # fmt: skip
    assert "short pass" not in short.output.replace("the password", "")
    taken = cli(db, "users", "add", "Sara", "--role", "admin", "--password-stdin", stdin=OTHER + "\n")
    assert taken.exit_code == 1
    assert taken.output == "Error: there is a user 'Sara' already (names are one in any letter case): nothing changed\n"
    nobody = cli(db, "users", "disable", "bob")
    assert nobody.exit_code == 1 and nobody.output == f"Error: no user 'bob' in {db}\n"
    no_pw = cli(db, "users", "passwd", "bob", "--password-stdin", stdin=OTHER + "\n")
    assert no_pw.exit_code == 1 and f"no user 'bob' in {db}" in no_pw.output
    weak = cli(db, "users", "passwd", "sara", "--password-stdin", stdin="123\n")
    assert weak.exit_code == 1 and "at least 12" in weak.output
    spaced = cli(db, "users", "add", "bob smith", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    assert spaced.exit_code == 1 and "the user name 'bob smith' holds ' '" in spaced.output
    crm = cli(db, "users", "add", "CRM", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    assert crm.exit_code == 1 and "the ticket history's name for the CRM" in crm.output
    empty = cli(db, "users", "add", "bob", "--role", "agent", "--password-stdin", stdin="")
    assert empty.exit_code == 1 and "stdin is empty" in empty.output
    mismatch = cli(db, "users", "add", "bob", "--role", "agent", stdin=f"{PASSWORD}\n{OTHER}\n")
    assert mismatch.exit_code == 1 and "do not match" in mismatch.output  # click asks again; input ran out

    assert [u["name"] for u in as_json(db, "users", "list")] == ["sara"]
    assert table_rows(db, "audit_log") == entries
    assert sign_in(db, "sara", PASSWORD) is not None  # the failed passwd left the password as it was


def test_the_password_never_reaches_the_logs(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    with structlog.testing.capture_logs() as logs:
        cli(db, "users", "add", "sara", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
        cli(db, "users", "passwd", "sara", "--password-stdin", stdin=OTHER + "\n")
        cli(db, "users", "add", "bob", "--role", "agent", "--password-stdin", stdin="too short\n")
        sign_in(db, "sara", OTHER)
        sign_in(db, "sara", PASSWORD)
        sign_in(db, "nobody", PASSWORD)
        sign_in(db, PASSWORD, PASSWORD)  # the password typed into the name field
    refused = [(e["event"], e["user"], e["reason"]) for e in logs if e["event"] == "sign_in_refused"]
    assert refused == [
        ("sign_in_refused", "sara", "wrong_password"),
        ("sign_in_refused", None, "unknown_user"),
        ("sign_in_refused", None, "unknown_user"),
    ]
    logged = json.dumps(logs, default=str)
    for secret in (PASSWORD, OTHER, "too short", "argon2id"):
        assert secret not in logged


def test_an_unknown_or_disabled_user_costs_a_verification_too() -> None:
    """The time a refusal takes does not tell which names exist: each refusal hashes."""
    import time

    from gateway.access import hashing

    hashing.spend_a_verify("warm up")  # the stand-in hash is made once
    started = time.perf_counter()
    hashing.spend_a_verify(PASSWORD)
    spent = time.perf_counter() - started
    stored = hashing.hash_password(PASSWORD)
    started = time.perf_counter()
    assert hashing.password_matches(stored, OTHER) is False
    wrong = time.perf_counter() - started
    assert spent > wrong / 3  # both are one argon2 verification, not a lookup
