"""API tokens as an admin makes them: ``gateway tokens create|list|revoke`` on a real SQLite file,
then ``verify_token`` as the API will call it."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from click.testing import CliRunner, Result

from gateway.access.principal import Principal
from gateway.access.tokens import verify_token
from gateway.cli import main
from gateway.store import Store


def cli(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)])


def check(db: Path, token: str, now: datetime | None = None) -> Principal | None:
    async def run() -> Principal | None:
        async with await Store.open(db, site="12") as store:
            return await verify_token(store, token, now=now)

    return asyncio.run(run())


def test_a_token_works_once_created_and_not_after_revoke(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    made = cli(db, "tokens", "create", "ivr", "--role", "integration", "--json", "--as", "admin1")
    assert made.exit_code == 0, made.output
    shown = json.loads(made.output)
    assert list(shown) == ["name", "role", "token"]  # exactly these, in this order
    assert shown["name"] == "ivr" and shown["role"] == "integration"
    token = shown["token"]
    assert re.fullmatch(r"gw_[A-Za-z0-9_-]{43}", token)

    assert check(db, token) == Principal("ivr", "integration", "token", "fa")
    assert check(db, f"  {token}\n") is not None
    assert check(db, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert check(db, "gw_" + "x" * 43) is None and check(db, "") is None and check(db, "Bearer " + token) is None

    listed = cli(db, "tokens", "list", "--json")
    [row] = json.loads(listed.output)
    assert row["name"] == "ivr" and row["state"] == "active" and row["created_by"] == "admin1"
    assert row["last_used_at"] is not None  # the sign-in above was noted
    assert set(row) == {"name", "role", "language", "state", "created_at", "created_by", "last_used_at", "revoked_at"}
    for out in (listed.output, cli(db, "tokens", "list").output):
        assert token not in out and token[3:] not in out

    revoked = cli(db, "tokens", "revoke", "ivr", "--as", "admin1")
    assert revoked.exit_code == 0 and revoked.output == "token ivr revoked (by admin1)\n"
    with structlog.testing.capture_logs() as logs:
        assert check(db, token) is None
        assert check(db, "gw_" + "y" * 43) is None
    assert [(e["token_name"], e["reason"]) for e in logs] == [("ivr", "revoked"), (None, "unknown_token")]
    assert token not in json.dumps(logs) and "y" * 43 not in json.dumps(logs)
    assert json.loads(cli(db, "tokens", "list", "--json").output)[0]["state"] == "revoked"


def test_without_json_the_token_alone_is_on_stdout(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    made = CliRunner().invoke(main, ["tokens", "create", "script", "--role", "agent", "--db", str(db)])
    assert made.exit_code == 0
    [token] = made.stdout.splitlines()
    assert "shown this once" in made.stderr and token not in made.stderr
    assert check(db, token) == Principal("script", "agent", "token", "fa")


def test_last_use_is_written_at_most_once_a_minute(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    token = json.loads(cli(db, "tokens", "create", "web", "--role", "supervisor", "--json").output)["token"]
    first = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    check(db, token, first)
    check(db, token, first + timedelta(seconds=30))
    assert json.loads(cli(db, "tokens", "list", "--json").output)[0]["last_used_at"].startswith("2026-12-02T08:00:00")
    check(db, token, first + timedelta(seconds=61))
    assert json.loads(cli(db, "tokens", "list", "--json").output)[0]["last_used_at"].startswith("2026-12-02T08:01:01")


def test_bad_input_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    assert cli(db, "tokens", "create", "ivr", "--role", "integration").exit_code == 0
    role = cli(db, "tokens", "create", "crm-link", "--role", "root")
    assert role.exit_code == 2 and "Invalid value for '--role': 'root' is not one of" in role.output
    again = cli(db, "tokens", "create", "IVR", "--role", "agent")
    assert again.exit_code == 1
    assert again.output == (
        "Error: there is a token 'IVR' already (a revoked token keeps its name): choose another name, e.g. IVR-2\n"
    )
    nobody = cli(db, "tokens", "revoke", "web")
    assert nobody.exit_code == 1 and nobody.output == f"Error: no token 'web' in {db}\n"
    assert cli(db, "tokens", "revoke", "ivr").exit_code == 0
    twice = cli(db, "tokens", "revoke", "ivr")
    assert twice.exit_code == 1 and twice.output == "Error: token ivr is revoked already: nothing changed\n"
    reused = cli(db, "tokens", "create", "ivr", "--role", "integration")
    assert reused.exit_code == 1 and "a revoked token keeps its name" in reused.output
    assert [t["name"] for t in json.loads(cli(db, "tokens", "list", "--json").output)] == ["ivr"]
