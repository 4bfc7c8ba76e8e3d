"""The audit log: every access write names who made it, what, to what, when and from where, in the
write's own transaction; ``gateway audit list`` reads it back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gateway.store import Actor, Store
from gateway.store import audit as audit_log

PASSWORD = "correct horse battery"


def cli(db: Path, *args: str, stdin: str | None = None) -> Result:
    from gateway.cli import main

    return CliRunner().invoke(main, [*args, "--db", str(db)], input=stdin)


def entries(db: Path, *args: str) -> list[dict[str, Any]]:
    out = cli(db, "audit", "list", *args, "--json")
    assert out.exit_code == 0, out.output
    return list(json.loads(out.output))


def test_each_access_write_is_an_entry_naming_the_actor(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    pw = f"{PASSWORD}\n"
    assert (
        cli(db, "users", "add", "sara", "--role", "agent", "--password-stdin", "--as", "ali", stdin=pw).exit_code == 0
    )
    assert cli(db, "users", "passwd", "sara", "--password-stdin", "--as", "ali", stdin=pw).exit_code == 0
    assert cli(db, "users", "disable", "sara", "--as", "reza").exit_code == 0
    token = json.loads(cli(db, "tokens", "create", "ivr", "--role", "integration", "--json", "--as", "ali").output)
    assert cli(db, "tokens", "revoke", "ivr", "--as", "reza").exit_code == 0

    found = entries(db)
    assert [(e["action"], e["target"], e["actor"], e["actor_kind"], e["address"]) for e in found] == [
        ("token.revoked", "ivr", "reza", "local", "local"),
        ("token.created", "ivr", "ali", "local", "local"),
        ("user.disabled", "sara", "reza", "local", "local"),
        ("user.password_changed", "sara", "ali", "local", "local"),
        ("user.added", "sara", "ali", "local", "local"),
    ]  # newest first
    assert found[-1]["detail"] == {"role": "agent", "language": "fa"}
    assert found[1]["detail"] == {"role": "integration"}
    assert set(found[0]) == {"id", "at", "actor", "actor_kind", "action", "target", "detail", "address"}
    dumped = json.dumps(found) + cli(db, "audit", "list").output
    assert PASSWORD not in dumped and token["token"] not in dumped and "argon2" not in dumped

    assert [e["action"] for e in entries(db, "--actor", "reza")] == ["token.revoked", "user.disabled"]
    assert entries(db, "--since", "2099-01-01") == []
    assert len(entries(db, "--since", "1h")) == 5
    text = cli(db, "audit", "list", "--limit", "1").output
    assert "token.revoked" in text and "reza (local)" in text and "user.added" not in text


def test_without_as_the_login_name_acts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "gw.db"
    monkeypatch.setenv("USER", "operator7")
    assert cli(db, "tokens", "create", "web", "--role", "agent").exit_code == 0
    assert [(e["actor"], e["action"]) for e in entries(db)] == [("operator7", "token.created")]


def test_an_entry_is_written_in_the_writers_transaction_or_not_at_all(tmp_path: Path) -> None:
    """The API and the desk call audit.record inside their own write: when the write fails, the
    entry goes with it."""
    db = tmp_path / "gw.db"

    async def run() -> None:
        async with await Store.open(db, site="12") as store:
            with pytest.raises(RuntimeError):
                async with store._write() as conn:
                    await audit_log.record(conn, Actor("ivr", "token", "10.0.0.7"), "message.sent", "+989121234567")
                    raise RuntimeError("the write failed")
            async with store._write() as conn:
                await audit_log.record(conn, Actor("sara", "user", "10.0.0.8"), "ticket.noted", "12-000001")
            with pytest.raises(ValueError, match="actor kind"):
                async with store._write() as conn:
                    await audit_log.record(conn, Actor("x", "robot", "?"), "ticket.noted")

    asyncio.run(run())
    assert [(e["actor"], e["actor_kind"], e["address"], e["action"]) for e in entries(db)] == [
        ("sara", "user", "10.0.0.8", "ticket.noted")
    ]


def test_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    missing = cli(db, "audit", "list")
    assert missing.exit_code == 1 and f"no database at {db}" in missing.output
    cli(db, "tokens", "create", "web", "--role", "agent")
    since = cli(db, "audit", "list", "--since", "yesterday")
    assert since.exit_code == 2 and "Invalid value for '--since'" in since.output
    blank_as = cli(db, "tokens", "create", "web2", "--role", "agent", "--as", " ")
    assert blank_as.exit_code == 1 and "the user name is empty" in blank_as.output
    assert len(entries(db)) == 1
