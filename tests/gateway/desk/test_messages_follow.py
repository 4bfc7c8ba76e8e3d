"""``gateway messages list --follow`` as an agent runs it: a process of its own that prints each
SMS as it arrives (once routed, with the reply it caused) until Ctrl-C, and then exits cleanly."""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest

from gateway.store import InboundItem, Store
from tests.gateway.desk.test_messages import NOW, A, B, talk

DEADLINE = 10.0  # seconds for the command to show a line, or to stop after Ctrl-C


class Lines:
    """A stream read line by line on a thread of its own, so the test can wait with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._q.put(line.rstrip("\n"))

    def next(self, timeout: float = DEADLINE) -> str:
        return self._q.get(timeout=timeout)

    def quiet(self, seconds: float) -> bool:
        """Nothing printed for ``seconds``."""
        try:
            line = self._q.get(timeout=seconds)
        except queue.Empty:
            return True
        self._q.put(line)
        return False


@contextmanager
def following(db: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines]]:
    command = [sys.executable, "-m", "gateway.cli", "messages", "list", "--follow", "--db", str(db), *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield proc, Lines(proc.stdout), Lines(proc.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str], err: Lines) -> None:
    """Ctrl-C: the command ends within the deadline, exit 0, saying so, no traceback."""
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=DEADLINE) == 0
    assert time.monotonic() - started < DEADLINE
    assert err.next() == "stopped"
    assert err.quiet(0.2)  # nothing after it: no traceback


def arrive(db: Path, sender: str, text: str) -> None:
    """Intake commits an SMS (not routed yet)."""

    async def run() -> None:
        async with await Store.open(db, site="12") as store:
            n = sum((await store.counts())["inbound_pdus"].values())
            await store.add_inbound("m1", [InboundItem("SM", 100 + n, f"NEW{n}", "sms", sender=sender, text=text)])

    asyncio.run(run())


def route(db: Path) -> None:
    """The daemon's routing takes what intake committed."""
    from gateway.config import parse
    from gateway.conversation.keywords import load_catalogue
    from gateway.inbound.routing import Routing

    config = parse({"site": {"id": "12"}, "modems": [{"id": "m1", "port": "/dev/null"}]}, Path("gateway.toml"))

    async def run() -> None:
        async with await Store.open(db, site="12") as store:
            await Routing(store, load_catalogue(), config, on_reply=lambda: None).route_waiting()

    asyncio.run(run())


@pytest.mark.slow  # over ~3 s: a real process killed or a receiver timing out
def test_follow_prints_each_sms_once_routed_until_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    with following(db, "--limit", "1") as (proc, out, err):
        # the newest SMS first (the operator's), then what arrives
        assert "in-9  from MCI via m1  [never answered: alphanumeric sender]" in out.next()
        assert err.next() == "following new messages (Ctrl-C to stop)"
        arrive(db, A, "قطع ۹۹۱۲۳")
        assert out.quiet(1.5)  # committed but not routed yet: not shown half-known
        route(db)
        assert "in-10  from +989121111111 via m1  [opened 12-000004]: قطع ۹۹۱۲۳" in out.next()
        assert (
            "out-8  to +989121111111 via m1  [reply queued (12-000004)]: درخواست «قطعی» با شماره ۱۲-۰۰۰۰۰۴"
            in out.next()
        )
        arrive(db, B, "[red]hi\x1b")
        route(db)
        assert out.next().endswith("in-11  from +989122222222 via m1  [menu (not a code we know)]: [red]hi\\x1b")
        stop(proc, err)


def test_follow_one_phone_as_json_lines(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    talk(db)
    since = (NOW - timedelta(minutes=48, seconds=30)).isoformat()  # the talk is dated from NOW
    with following(db, "--phone", "۰۹۱۲ ۲۲۲ ۲۲۲۲", "--since", since, "--json") as (proc, out, err):
        backlog = [json.loads(out.next()) for _ in range(2)]  # B's SMS since then, oldest first
        assert [(m["id"], m.get("routed"), m.get("status"), m["ticket"]) for m in backlog] == [
            ("in-4", "opened 12-000002", None, "12-000002"),
            ("out-4", None, "queued", "12-000002"),
        ]
        arrive(db, A, "سلام")  # another phone: not shown
        arrive(db, B, "پیگیری")
        route(db)
        shown = json.loads(out.next())
        assert (shown["id"], shown["phone"], shown["text"], shown["action"]) == ("in-11", B, "پیگیری", "status")
        assert shown["replies"] == ["out-9"]
        assert json.loads(out.next())["id"] == "out-9"
        assert out.quiet(1.0)
        stop(proc, err)
