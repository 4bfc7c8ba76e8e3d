"""The CLI imports only what a command needs: ``gateway --help`` lists the commands without
loading Rich, asyncio, the store or the hardware libraries, and ``gateway tickets list``
without the ones only other commands use (docs/BENCHMARKS.md, "cli", has the times).

Each check runs in a fresh interpreter: in this process other tests have imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gateway.cli import COMMANDS, main

# heavy to import, and never needed to list commands or print a group's help
HEAVY = (
    "rich",
    "asyncio",
    "aiosqlite",
    "sqlite3",
    "httpx",
    "gsmmodem",
    "serial",
    "phonenumbers",
    "jdatetime",
    "zoneinfo",
    "prometheus_client",
    "structlog",
    "ulid",
    "tomllib",
    "ssl",
    "sim_bank",
    "gateway.config",
    "gateway.store",
    "gateway.desk",
    "gateway.outbound",
    "gateway.broadcast.operations",
)
# what `gateway tickets list` must still do without: other commands' libraries
NOT_FOR_TICKETS_LIST = (
    "httpx",
    "gsmmodem",
    "serial",
    "phonenumbers",
    "jdatetime",
    "prometheus_client",
    "structlog",
    "ulid",
    "gateway.broadcast.operations",
    "gateway.crm.sync",
    "gateway.daemon",
    # the ticket list is read without asyncio and the store (gateway.store.reader)
    "asyncio",
    "aiosqlite",
    "gateway.store.base",
    "tomllib",
    # nor what the others need of the config, the store's other rows, sim_bank, progress bars
    "gateway.config.checks",
    "gateway.store.rows",
    "gateway.store.database",
    "sim_bank.types",
    "rich.progress",
)

PROBE = """
import json, sys
from gateway.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    """The modules loaded by running ``gateway ARGS`` in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return {name for name in loaded if not name.startswith("_")}


def _loaded(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in loaded or any(m.startswith(n + ".") for m in loaded))


def _groups(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out.append((*prefix, name))
            out += _groups(cmd, (*prefix, name))
    return out


def test_each_command_is_where_the_lazy_group_looks_for_it() -> None:
    import importlib

    for module in set(COMMANDS.values()):
        names = {c.name for c in importlib.import_module(f"gateway.cli.{module}").COMMANDS}
        assert names == {n for n, m in COMMANDS.items() if m == module}, module


def test_the_store_face_gives_every_name_it_lists() -> None:
    import gateway.store

    for name in gateway.store.__all__:
        assert getattr(gateway.store, name) is not None, name


def test_help_imports_nothing_heavy() -> None:
    assert _loaded(_imported("--help"), HEAVY) == []


@pytest.mark.parametrize("group", _groups(main), ids=" ".join)
def test_a_groups_help_imports_nothing_heavy(group: tuple[str, ...]) -> None:
    assert _loaded(_imported(*group, "--help"), HEAVY) == []


def test_tickets_list_imports_only_what_it_needs(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "send", "--db", str(db), "+989121234567", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert _loaded(_imported("tickets", "list", "--db", str(db)), NOT_FOR_TICKETS_LIST) == []
