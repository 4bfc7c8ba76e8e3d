"""A webhook added through the API (``gateway serve``, a real process) gets every signed event
exactly once by ``X-Gateway-Event-Id`` across a kill -9 of ``gateway serve`` and of the daemon
(``gateway run``, a real process) while events are being journalled and delivered."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.access.tokens import create_token
from gateway.config import Config, SiteConfig
from gateway.crm.protocol import verify
from gateway.hooks.delivery import BATCH
from gateway.store import Actor, Store
from tests.gateway.harness import sql_file
from tests.gateway.hooks.receiver import Receiver
from tests.gateway.make_tickets import open_tickets

SECRET = "hook-s3cret-through-the-api"
GATEWAY = [sys.executable, "-m", "gateway.cli"]
TYPES = ("ticket.opened", "message.received")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Writer:
    """Customers' tickets journalled in small batches from a thread of its own (a third writer
    beside the daemon and the API), until stopped."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.made = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def batch() -> None:
            async with await Store.open(self.db, site="12") as store:
                while not self._stop.is_set():
                    await open_tickets(store, 3, first_account=40000 + self.made)
                    self.made += 3
                    await asyncio.sleep(0.05)

        asyncio.run(batch())

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _wait(predicate: object, timeout: float, what: str, *procs: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        for p in procs:
            assert p.poll() is None, f"{what}: {p.args} exited {p.returncode}"
        time.sleep(0.05)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _kill(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        p.send_signal(signal.SIGKILL)
    for p in procs:
        p.wait(timeout=30)


@pytest.mark.slow  # real processes killed -9 and started again
def test_a_hook_added_through_the_api_gets_every_signed_event_once_across_kill_9_of_serve_and_daemon(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gw.db"
    config = Config(site=SiteConfig(id="12", language="fa")).with_database(db)
    token = asyncio.run(create_token(config, "oms", role="integration", actor=Actor.local("root"))).token
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve_cmd = [*GATEWAY, "serve", "--listen", f"127.0.0.1:{port}", "--db", str(db)]
    run_cmd = [*GATEWAY, "run", "--simulate", "1", "--db", str(db)]

    def start(cmd: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with Receiver(delay=0.01) as receiver:
        serve = start(serve_cmd)
        daemon = None
        try:
            _wait(lambda: _healthy(url), 30, "gateway serve did not start", serve)
            auth = {"Authorization": f"Bearer {token}"}
            made = httpx.post(f"{url}/api/v1/webhooks", json={"url": receiver.url, "events": list(TYPES),
                                                              "secret": SECRET}, headers=auth, timeout=10)  # fmt: skip
            assert made.status_code == 201, made.text
            hook_id = made.json()["id"]
            daemon = start(run_cmd)
            with Writer(db) as writer:
                _wait(lambda: len(receiver.requests()) >= 40, 60, "no events reached the receiver", serve, daemon)
                _kill(daemon, serve)  # both at once, mid-flow: the writer goes on journalling
                killed_at = len(receiver.requests())
                _wait(lambda: writer.made >= 90, 30, "the writer stalled")
            serve, daemon = start(serve_cmd), start(run_cmd)
            _wait(lambda: _healthy(url), 30, "gateway serve did not start again", serve)
            with Writer(db) as writer:  # and more after the restart
                _wait(lambda: writer.made >= 30, 30, "the writer stalled")
            subscribed = "SELECT id FROM events WHERE type IN ('ticket.opened', 'message.received') ORDER BY seq"
            journal = [str(r[0]) for r in sql_file(db, subscribed)]
            _wait(lambda: {h["X-Gateway-Event-Id"] for h, _ in receiver.requests()} >= set(journal), 90,
                  "events were lost", serve, daemon)  # fmt: skip
            listed = httpx.get(f"{url}/api/v1/webhooks/{hook_id}", headers=auth, timeout=10).json()
            assert (listed["status"], listed["created_by"], listed["last_error"]) == ("active", "oms", None)
        finally:
            if daemon is not None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=60)
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=30)
        got = receiver.requests()

    assert killed_at >= 40 and len(journal) >= 2 * 3 * 40
    ids = [h["X-Gateway-Event-Id"] for h, _ in got]
    assert set(ids) == set(journal)  # every event, none that was not journalled
    first: dict[str, bytes] = {}
    for headers, body in got:
        assert verify(SECRET, headers["X-Gateway-Timestamp"], body, headers["X-Gateway-Signature"], now=time.time())
        event = json.loads(body)
        assert event["id"] == headers["X-Gateway-Event-Id"] and event["type"] in TYPES
        assert first.setdefault(event["id"], body) == body  # a repeat is the same event, byte for byte
    assert len(ids) - len(set(ids)) <= BATCH  # repeats: at most the batch after the last cursor, deduplicated by id
    first_seen = [i for n, i in enumerate(ids) if i not in ids[:n]]
    assert first_seen == journal  # in journal order
