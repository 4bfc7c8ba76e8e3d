"""The CLI says what is true: whether a daemon will send what was queued, whether a campaign
is really running, whether sync is configured, what Ctrl-C left behind. Real CLI and
processes, real SQLite files, the daemon's real lock file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.broadcast.contacts import Contact
from gateway.cli import main
from gateway.lockfile import DaemonLock
from gateway.store import Store

PHONE = "+989121234567"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def daemon_lock(tmp_path: Path) -> Iterator[Path]:
    """The database with its lock held, as a running daemon holds it."""
    db = tmp_path / "gw.db"
    lock = DaemonLock(db)
    lock.acquire()
    try:
        yield db
    finally:
        lock.release()


async def _contacts(db: Path) -> None:
    async with await Store.open(db) as store:
        await store.upsert_contacts([Contact(PHONE, language="en")], "north")


BROADCAST = ["broadcast", "--template", "restored", "--group", "north", "--var", "area=North", "--yes"]


def test_send_and_broadcast_say_when_no_daemon_will_send(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db))
    sent = cli("send", PHONE, "Power is back.", "--db", str(db))
    assert sent.exit_code == 0 and "queued #1" in sent.output
    assert f"no daemon is running on {db}: it waits in the queue until one starts (gateway run)" in sent.output
    made = cli(*BROADCAST, "--db", str(db))
    assert made.exit_code == 0, made.output
    assert f"no daemon is running on {db}: it waits in the queue until one starts (gateway run)" in made.output
    status = cli("broadcast", "status", "1", "--db", str(db))
    assert "running, but no daemon is running on this database: nothing is sent until one starts" in status.output
    assert "ETA" in status.output and "- (no daemon)" in status.output
    data = json.loads(cli("broadcast", "status", "1", "--json", "--db", str(db)).output)
    assert data["daemon_running"] is False and data["eta"] is None
    assert "running (no daemon)" in cli("broadcast", "list", "--db", str(db)).output


def test_with_a_daemon_running_nothing_is_said(daemon_lock: Path) -> None:
    db = daemon_lock
    asyncio.run(_contacts(db))
    sent = cli("send", PHONE, "Power is back.", "--db", str(db))
    assert sent.exit_code == 0 and "no daemon" not in sent.output and "the daemon sends it" in sent.output
    made = cli(*BROADCAST, "--db", str(db))
    assert made.exit_code == 0 and "no daemon is running" not in made.output
    status = cli("broadcast", "status", "1", "--db", str(db))
    assert "1 (restored), running" in status.output and "no daemon" not in status.output
    assert json.loads(cli("broadcast", "status", "1", "--json", "--db", str(db)).output)["daemon_running"] is True


def test_sync_status_never_says_not_configured_beside_a_last_success(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"

    async def synced_once() -> None:
        async with await Store.open(db) as store:
            await store.set_sync_state(last_success_at="2026-11-24T10:00:00+00:00", link="up")

    asyncio.run(synced_once())
    out = cli("sync", "status", "--db", str(db))
    assert out.exit_code == 0, out.output
    assert "not configured" not in out.output
    assert "this config has no [crm] url" in out.output and "-c" in out.output
    assert "2026-11-24T10:00:00" in out.output
    assert "nobody: no daemon is running (gateway run)" in out.output
    data = json.loads(cli("sync", "status", "--json", "--db", str(db)).output)
    assert data["link"] == "unknown" and data["last_success_at"].startswith("2026-11-24")


@pytest.mark.timeout(60)
def test_ctrl_c_while_waiting_says_the_campaign_goes_on_and_how_to_watch_it(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *BROADCAST, "--wait", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GATEWAY_CONFIG": ""},
    )
    try:
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:  # the plan, then this line once the campaign exists (flushed)
            if "campaign 1 created" in line:
                break
        assert "campaign 1 created" in line, line
        proc.send_signal(signal.SIGINT)  # whenever it lands after the campaign exists
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    said = line + out + err
    assert "Traceback" not in said, said
    assert "stopped watching: campaign 1 goes on" in said
    assert "gateway broadcast status 1 --wait" in said and "gateway broadcast cancel 1" in said
    assert proc.returncode == 130
    status = json.loads(cli("broadcast", "status", "1", "--json", "--db", str(db)).output)
    assert status["status"] == "running" and status["remaining"] == 1
