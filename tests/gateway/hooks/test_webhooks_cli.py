"""``gateway webhooks add|list|remove`` on a real database file: bad input is one clear line and
nothing written; the secret is never shown; the retry schedule gives up after three days."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.hooks.rules import GIVE_UP_AFTER, RETRY_CAP, next_try
from gateway.store import Store

SECRET = "hook-s3cret"


def cli(db: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, [*args, "--db", str(db)], stdin)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gw.db"

    async def make() -> None:
        async with await Store.open(path, site="12"):
            pass

    asyncio.run(make())
    return path


def hooks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM webhooks").fetchone()
    return int(n)


@pytest.mark.parametrize(
    ("url", "events", "error"),
    [
        ("ftp://ops.example.org/hook", "ticket.opened", "must start with http:// or https://"),
        ("https:///hook", "ticket.opened", "names no host"),
        ("https://ops.example.org/a b", "ticket.opened", "not a URL a webhook can post to"),
        ("https://user:pw@ops.example.org/hook", "ticket.opened", "must not carry a user or password"),
        ("https://ops.example.org/hook", "ticket.opened,ticket.closed", "unknown event type ticket.closed: choose"),
        ("https://ops.example.org/hook", " , ", "name at least one event type"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_written(db: Path, url: str, events: str, error: str) -> None:
    out = cli(db, "webhooks", "add", url, "--events", events, "--secret", SECRET)
    assert out.exit_code == 1
    assert out.output.count("\n") == 1 and error in out.output, out.output
    assert SECRET not in out.output and "Traceback" not in out.output
    assert hooks(db) == 0


def test_a_hook_without_a_secret_is_refused(db: Path) -> None:
    out = cli(db, "webhooks", "add", "https://ops.example.org/hook", "--events", "ticket.opened")
    assert out.exit_code == 2 and "give the signing secret" in out.output
    blank = cli(db, "webhooks", "add", "https://ops.example.org/hook", "--events", "ticket.opened", "--secret", " ")
    assert blank.exit_code == 1 and "the webhook secret is empty" in blank.output
    assert hooks(db) == 0


def test_add_list_remove_and_the_secret_from_the_environment_is_never_shown(db: Path) -> None:
    added = cli(
        db, "webhooks", "add", "https://ops.example.org/hook", "--events", "message.received,ticket.opened",
        env={"GATEWAY_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output == "webhook #1 added: https://ops.example.org/hook gets ticket.opened, message.received\n"
    listed = cli(db, "webhooks", "list", "--json")
    [hook] = json.loads(listed.output)
    assert (hook["id"], hook["url"], hook["events"], hook["status"], hook["backlog"]) == (
        1, "https://ops.example.org/hook", ["ticket.opened", "message.received"], "active", 0
    )  # fmt: skip
    assert (hook["last_success_at"], hook["last_error"]) == (None, None)
    table = cli(db, "webhooks", "list").output
    assert "https://ops.example.org/hook" in table and "never" in table
    for out in (added.output, listed.output, table):
        assert SECRET not in out
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT secret FROM webhooks").fetchall() == [(SECRET,)]  # kept to sign with

    assert cli(db, "webhooks", "remove", "2").output == "Error: no webhook #2 (gateway webhooks list shows them)\n"
    assert cli(db, "webhooks", "remove", "one").exit_code == 1
    removed = cli(db, "webhooks", "remove", "1")
    assert removed.exit_code == 0 and removed.output == "webhook #1 removed\n"
    assert json.loads(cli(db, "webhooks", "list", "--json").output) == []


def test_retries_back_off_to_an_hour_and_give_up_after_three_days() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    middle = lambda: 0.5  # noqa: E731 -- no jitter
    assert next_try(1, start, start, rand=middle) == start + timedelta(seconds=10)
    assert next_try(2, start, start, rand=middle) == start + timedelta(seconds=20)
    assert next_try(30, start, start, rand=middle) == start + timedelta(seconds=RETRY_CAP)
    late = start + GIVE_UP_AFTER - timedelta(seconds=1)
    assert next_try(80, start, late, rand=middle) == late + timedelta(seconds=RETRY_CAP)
    assert next_try(81, start, start + GIVE_UP_AFTER, rand=middle) is None
    assert timedelta(days=3) == GIVE_UP_AFTER


def test_list_shows_who_added_each_hook_and_every_change_is_audited(db: Path) -> None:
    env = {"GATEWAY_WEBHOOK_SECRET": SECRET}
    hook_url = "https://ops.example.org/hook"
    added = cli(db, "webhooks", "add", hook_url, "--events", "ticket.opened", "--as", "sara", env=env)
    assert added.exit_code == 0, added.output
    [hook] = json.loads(cli(db, "webhooks", "list", "--json").output)
    assert (hook["created_by"], hook["created_by_kind"]) == ("sara", "local")
    assert "sara" in cli(db, "webhooks", "list").output
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE webhooks SET status = 'dead', attempts = 80, failing_since = '2026-11-01T00:00:00+00:00'")
    revived = cli(db, "webhooks", "revive", "#1", "--as", "omid")
    assert revived.exit_code == 0, revived.output
    assert revived.output.startswith("webhook #1 is active again: 0 events waiting")
    [hook] = json.loads(cli(db, "webhooks", "list", "--json").output)
    assert (hook["status"], hook["attempts"], hook["failing_since"]) == ("active", 0, None)
    assert cli(db, "webhooks", "revive", "7").output == "Error: no webhook #7 (gateway webhooks list shows them)\n"
    assert cli(db, "webhooks", "remove", "1", "--as", "omid").exit_code == 0
    audit = json.loads(cli(db, "audit", "list", "--json").output)
    assert [(a["actor"], a["action"], a["target"]) for a in reversed(audit)] == [
        ("sara", "webhook.added", "#1"), ("omid", "webhook.revived", "#1"), ("omid", "webhook.removed", "#1"),
    ]  # fmt: skip
    assert SECRET not in json.dumps(audit)
