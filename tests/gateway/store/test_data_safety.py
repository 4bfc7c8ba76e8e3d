"""Data safety under an operator's mistakes: a database removed or replaced under the running
daemon, a damaged file, files others can read, a writer interrupted mid-transaction."""

from __future__ import annotations

import asyncio
import grp
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config import Config, load
from gateway.daemon import Daemon, bank_for
from gateway.exceptions import DatabaseCorrupt, DatabaseReplaced, DatabaseUnreadable, StoreError
from gateway.ops import maintenance
from gateway.store import Store
from gateway.store.database_file import DatabaseFile
from sim_bank import pdu
from tests.gateway.harness import Harness, eventually
from tests.gateway.make_tickets import open_tickets

CUSTOMER = "+447700900123"
LATE = "+447700900456"


def _on_sim(harness: Harness, modem: str = "m1") -> list[str]:
    """The texts still stored on a SIM."""
    return [getattr(pdu.decode(raw), "text", "") for raw in harness.emu(modem).stored().values()]


async def _run_until_it_stops_itself(harness: Harness) -> tuple[Daemon, asyncio.Task[None]]:
    daemon = Daemon(harness.config, bank_for(harness.config), observer=harness.events)
    task = asyncio.create_task(daemon.run_forever())
    await eventually(lambda: {"m1", "m2"} <= set(daemon.bank.ready()), 20)
    return daemon, task


async def _restart_and_answer(harness: Harness) -> None:
    """A new daemon on whatever file is at the path now takes the SMS still on the SIM once."""
    await harness.start()
    reply = await harness.reply_to(LATE, timeout=20)
    assert reply.text.startswith("Thank you")
    await eventually(lambda: harness.emu("m1").stored() == {}, 20)
    tickets = await harness.store.tickets()
    assert [t.phone for t in tickets] == [LATE]  # once, in the file now at the path


@pytest.mark.parametrize("how", ["removed", "replaced"])
async def test_a_database_swapped_under_the_daemon_keeps_new_sms_on_the_sim_and_stops_it(
    harness: Harness, how: str
) -> None:
    daemon, task = await _run_until_it_stops_itself(harness)
    harness.emu("m1").inject_sms(CUSTOMER, "1 48213")
    await harness.reply_to(CUSTOMER, timeout=20)

    if how == "removed":  # a cleanup script
        for side in ("", "-wal", "-shm"):
            Path(f"{harness.database}{side}").unlink(missing_ok=True)
    else:  # a restore without stopping the daemon: yesterday's (empty) copy moved into place
        restored = harness.tmp_path / "restored.db"
        async with await Store.open(restored, site="12"):
            pass
        os.replace(restored, harness.database)
        for side in ("-wal", "-shm"):
            Path(f"{harness.database}{side}").unlink(missing_ok=True)
    harness.emu("m1").inject_sms(LATE, "1 55555")

    with pytest.raises(DatabaseReplaced, match=str(harness.database)):
        await asyncio.wait_for(task, 30)  # run_forever stops cleanly, then raises: the CLI exits 1
    assert daemon.failure is not None and how in str(daemon.failure)
    assert "1 55555" in _on_sim(harness), "the SMS must stay on the SIM"
    assert all(m.number != LATE for e in harness.emulators for m in e.sent)  # no ticket in a file that is gone

    await _restart_and_answer(harness)


async def test_the_sim_keeps_a_batch_that_arrives_after_the_swap_even_before_the_timer_notices(
    harness: Harness,
) -> None:
    """The check before every SIM delete, not only the timer: a sweep that commits into the
    removed file still leaves its messages on the SIM."""
    daemon = await harness.start()
    assert daemon.store is not None
    daemon_store = daemon.store
    emu = harness.emu("m1")
    listings = emu.commands.count("AT+CMGL=4")
    os.unlink(harness.database)  # the timer will notice within a quarter second...
    emu.inject_sms(LATE, "1 55555")  # ...this may be read before or after
    await eventually(lambda: emu.commands.count("AT+CMGL=4") > listings, 10)  # the SIM was read...
    await eventually(lambda: daemon.failure is not None and not daemon._tasks, 10)  # ...and the batch handled
    assert daemon_store.replaced() == "removed"
    await harness.stop()
    assert "1 55555" in _on_sim(harness)
    await _restart_and_answer(harness)


# ---------------------------------------------------------------- damaged files


def _damage(db: Path) -> None:
    """Overwrite the start of the tickets table's root page, as a failing disk or a
    half-copied file would."""
    conn = sqlite3.connect(db)
    try:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tickets'").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xff" * 64)


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    db = tmp_path / "gateway.db"

    async def fill() -> None:
        async with await Store.open(db, site="12") as store:
            await open_tickets(store, 300)

    asyncio.run(fill())
    for side in ("-wal", "-shm"):
        assert not Path(f"{db}{side}").exists()  # closed cleanly: everything is in the main file
    _damage(db)
    return db


def test_the_daemon_refuses_to_serve_on_a_damaged_database(damaged: Path) -> None:
    config = Config().with_database(damaged)
    daemon = Daemon(config, bank_for(config))
    with pytest.raises(DatabaseCorrupt) as refused:
        asyncio.run(daemon.start())
    message = str(refused.value)
    assert "quick_check" in message and ".recover" in message and f"cp BACKUP {damaged}" in message


def test_doctor_fails_a_damaged_database_and_names_the_fix(damaged: Path) -> None:
    out = CliRunner().invoke(main, ["doctor", "--db", str(damaged)])
    assert out.exit_code == 1, out.output
    assert "quick_check" in out.output and ".recover" in out.output
    assert "can serve" not in out.output.replace("cannot serve", "")


@pytest.mark.parametrize(
    "command", [["tickets", "list"], ["stats"], ["tickets", "list", "--json"], ["export", "tickets", "--csv"]]
)
def test_a_command_on_a_damaged_database_says_so_in_one_line(damaged: Path, command: list[str]) -> None:
    out = CliRunner().invoke(main, [*command, "--db", str(damaged)])
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output and len(out.stderr.strip().splitlines()) == 1
    assert "damaged" in out.stderr and (".recover" in out.stderr or "gateway doctor" in out.stderr)


async def test_a_locked_database_is_reported_unreadable_not_damaged(tmp_path: Path) -> None:
    """Another program holds the file's lock past the busy timeout: ``stats``, ``export`` and
    ``doctor`` say the file cannot be read now -- not that it is damaged, which would send the
    operator to restore a backup for nothing."""
    async with await Store.open(tmp_path / "gw.db"):
        pass
    copy = tmp_path / "copy.db"  # a backup: a rollback-journal file, where a writer's lock stops readers
    maintenance.backup(Config().with_database(tmp_path / "gw.db"), copy)
    holder = sqlite3.connect(copy, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        file = DatabaseFile(copy, busy_timeout=0.1)
        for read in (file.stats_rows, file.sim_status_rows, lambda: list(file.export_rows(["id"]))):
            with pytest.raises(DatabaseUnreadable, match="locked") as caught:
                read()
            assert not isinstance(caught.value, DatabaseCorrupt) and str(copy) in str(caught.value)
        assert file.quick_check() == "ok"  # busy is not damage
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# ---------------------------------------------------------------- file modes


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # as an operator's shell has it
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_and_its_wal_and_shm_are_private_whatever_the_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    db = tmp_path / "gateway.db"
    async with await Store.open(db, site="12") as store:
        await open_tickets(store, 3)
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in files)
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


async def test_a_backup_is_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "gateway.db"
    async with await Store.open(db, site="12") as store:
        await open_tickets(store, 2)
    report = maintenance.backup(Config().with_database(db), tmp_path / "copy.db")
    assert report.rows["tickets"] == 2 and _mode(report.path) == 0o600


async def test_the_daemon_tightens_a_database_others_can_read(harness: Harness) -> None:
    async with await Store.open(harness.database, site="12"):
        pass
    os.chmod(harness.database, 0o644)  # made by hand, or by an older version
    await harness.start()
    assert _mode(harness.database) == 0o600


# ---------------------------------------------------------------- the writer


@pytest.mark.slow
async def test_a_write_cancelled_while_waiting_for_the_lock_leaves_no_transaction_behind(tmp_path: Path) -> None:
    """Cancelled at BEGIN IMMEDIATE (another process holds the lock; shutdown cancels the
    task): the BEGIN still runs on aiosqlite's thread later. The next write must work."""
    db = tmp_path / "gateway.db"
    store = await Store.open(db, site="12", busy_timeout=5.0)
    try:
        holding = threading.Event()
        release = threading.Event()

        def other_process() -> None:
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            holding.set()
            release.wait(10)
            conn.execute("ROLLBACK")
            conn.close()

        holder = threading.Thread(target=other_process, daemon=True)
        holder.start()
        assert await asyncio.to_thread(holding.wait, 10)
        write = asyncio.create_task(open_tickets(store, 1))
        await asyncio.sleep(0.3)  # it waits inside BEGIN IMMEDIATE for the other's lock
        write.cancel()
        with pytest.raises(asyncio.CancelledError):
            await write
        release.set()
        await asyncio.to_thread(holder.join, 10)
        made = await open_tickets(store, 2)  # "cannot start a transaction within a transaction" before
        assert len(made) == 2 and len(await store.tickets()) == 2
    finally:
        await store.close()


async def test_a_write_into_a_damaged_table_names_the_damage_and_the_fix(damaged: Path) -> None:
    store = await Store.open(damaged, site="12")
    try:
        with pytest.raises(DatabaseCorrupt, match=r"\.recover"):
            async with store._write() as db:  # e.g. the CRM resolving tickets
                await db.execute("UPDATE tickets SET status = 'resolved'")
    finally:
        await store.close()


async def test_a_failed_write_rolls_back_and_the_writer_goes_on(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "gateway.db", site="12")
    try:
        with pytest.raises(StoreError):
            async with store._write() as db:
                await db.execute("INSERT INTO no_such_table VALUES (1)")
        assert len(await open_tickets(store, 1)) == 1
    finally:
        await store.close()


# ---------------------------------------------------------------- who may create the database

READ_ONLY = [
    ["tickets", "list"],
    ["tickets", "show", "12-000001"],
    ["outbox", "list"],
    ["contacts", "list"],
    ["groups", "list"],
    ["broadcast", "list"],
    ["sync", "status"],
    ["modems"],
    ["stats"],
    ["export", "tickets", "--csv"],
    ["backup", "copy.db"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_creates_no_database_and_says_where_it_looked(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo" / "gateway.db"
    out = CliRunner().invoke(main, [*command, "--db", str(typo)], env={"GATEWAY_CONFIG": ""})
    assert out.exit_code == 1, out.output
    assert f"no database at {typo}" in out.stderr and "-c" in out.stderr and "--db" in out.stderr, out.stderr
    assert not typo.parent.exists()


def test_send_may_create_the_database_and_creates_it_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "new" / "gateway.db"
    out = CliRunner().invoke(main, ["send", "+989121234567", "Power is back.", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert _mode(db) == 0o600


def test_an_export_is_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "gateway.db"

    async def fill() -> None:
        async with await Store.open(db, site="12") as store:
            await open_tickets(store, 2)

    asyncio.run(fill())
    target = tmp_path / "tickets.csv"
    target.write_text("old, world-readable\n")
    os.chmod(target, 0o644)  # an earlier export by hand: overwritten, and made private
    out = CliRunner().invoke(main, ["export", "tickets", "--csv", "--out", str(target), "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert _mode(target) == 0o600 and len(target.read_text().splitlines()) == 3


async def test_with_a_group_configured_the_files_are_readable_by_that_group(tmp_path: Path, loose_umask: None) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    config_file = tmp_path / "gateway.toml"
    config_file.write_text(f'[storage]\ndatabase = "gateway.db"\ngroup = "{group}"\n')
    config = load(config_file)
    daemon = Daemon(config, bank_for(config))
    await daemon.start()
    try:
        assert daemon.store is not None
        await open_tickets(daemon.store, 1)
        db = config.database_path
        assert {_mode(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))} == {0o640}
    finally:
        await daemon.stop()
    report = maintenance.backup(config, tmp_path / "copy.db")
    assert _mode(report.path) == 0o640 and report.path.stat().st_gid == grp.getgrnam(group).gr_gid


def test_a_group_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    config_file = tmp_path / "gateway.toml"
    config_file.write_text('[storage]\ngroup = "no-such-group-here"\n')
    out = CliRunner().invoke(main, ["check-config", "-c", str(config_file)])
    assert out.exit_code == 1 and "storage.group" in out.output and "no-such-group-here" in out.output
