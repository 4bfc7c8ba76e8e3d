"""A reference CRM receiver for sync protocol v1: ``gateway crm-stub --port 8080``.

It is the server side of ``docs/crm-sync.md``, small enough to read: it checks
the token and the signature, keeps each ticket once by id (a second push is
answered ``duplicate`` and only updates ``repeat_count``), stores everything in
its own SQLite file, and serves status updates that an operator (or a test)
adds. Faults can be switched on to rehearse what a real CRM does on a bad day:
answer 500, be slow, take a batch and not answer, trickle its answer a byte at a
time, refuse one ticket with 422, or drop off the network altogether.

Runs in a thread of its own (:meth:`CrmStub.start`) or in the foreground
(:meth:`CrmStub.serve_forever`); the standard library's HTTP server is enough
for a test double that must itself never be the bottleneck on loopback.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from gateway.crm import protocol

log = structlog.get_logger("gateway.crm.receiver")

REQUIRED = ("id", "ref", "site", "phone", "category", "received_at")
UPDATES_PAGE = 500  # updates per page when the gateway sends no `limit`
MAX_UPDATES_PAGE = 10_000  # the most a `limit` gets

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    id           TEXT NOT NULL UNIQUE,
    site         TEXT NOT NULL,
    ref          TEXT,
    repeat_count INTEGER NOT NULL DEFAULT 0,
    pushes       INTEGER NOT NULL DEFAULT 1,
    ticket       TEXT NOT NULL,                      -- the JSON as received
    received_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,     -- the cursor
    site      TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    update_   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (the link cut by :meth:`CrmStub.down`, a gateway killed
        mid-request) is part of the job; anything else is logged, never printed."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("crm_stub_client_gone", client=str(client_address), error=type(error).__name__)
        else:
            log.error("crm_stub_request_failed", client=str(client_address), exc_info=True)


@dataclass
class Fault:
    """What the stub does to the next ``count`` pushes (None: until changed).

    ``error``: answer ``status`` without storing; ``slow``: wait ``delay`` seconds, then
    store and answer; ``late``: store, then wait ``delay`` seconds before answering (the
    answer a crashed or timed-out client never reads); ``trickle``: store, then send the
    answer one byte every ``delay`` seconds."""

    mode: str = "none"  # none | error | slow | late | trickle
    status: int = 500
    delay: float = 0.0
    count: int | None = None


class CrmStub:
    def __init__(
        self,
        database: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "",
        secret: str = "",
        tolerance: float = 300.0,
    ) -> None:
        self.database = Path(database)
        self.host = host
        self.port = port
        self.token = token
        self.secret = secret
        self.tolerance = tolerance
        self.faults: list[Fault] = []  # consumed in order; empty: behave
        self.refuse: dict[str, int] = {}  # ticket id -> status that refuses any batch holding it
        self.health_status = 200  # what GET /health answers (a proxy in front may say 404)
        self.ignore_since = False  # a buggy CRM: every pull gets the same first page and cursor
        self._lock = threading.Lock()
        self.database.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.database, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ running

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CrmStub:
        """Listen and serve in a background thread (``port=0`` picks a free port once)."""
        self._server = self._bind()
        self._thread = threading.Thread(target=self._server.serve_forever, name="crm-stub", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server = self._bind()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def down(self) -> None:
        """The link drops: stop listening and cut every open connection (connection refused)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def up(self) -> None:
        """The link returns, on the same port."""
        if self._server is None:
            self.start()

    def close(self) -> None:
        self.down()
        self._db.close()

    def __enter__(self) -> CrmStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self) -> ThreadingHTTPServer:
        stub = self

        class Handler(_Handler):
            pass

        Handler.stub = stub
        server = _Server((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        return server

    # ------------------------------------------------------------------ control (tests, the demo, /_stub/*)

    def set_fault(self, mode: str = "none", *, status: int = 500, delay: float = 0.0, count: int | None = None) -> None:
        """Misbehave on the next ``count`` pushes (None: until told otherwise); "none" behaves."""
        self.plan_faults([Fault(mode, status, delay, count)] if mode != "none" else [])

    def plan_faults(self, faults: Iterable[Fault]) -> None:
        """A bad day in order: each fault for its ``count`` pushes, then the next."""
        plan = list(faults)
        for f in plan:
            if f.mode not in ("none", "error", "slow", "late", "trickle"):
                raise ValueError(f"unknown fault mode {f.mode!r}")
        with self._lock:
            self.faults = plan

    @property
    def faults_pending(self) -> int:
        with self._lock:
            return len(self.faults)

    def refuse_tickets(self, ids: Iterable[str], status: int = 422) -> None:
        """Any batch holding one of ``ids`` is refused as a whole with ``status``."""
        with self._lock:
            self.refuse.update(dict.fromkeys(ids, status))

    def add_update(
        self,
        ticket_id: str,
        status: str,
        *,
        note: str | None = None,
        notify: bool = False,
        message: dict[str, str] | None = None,
    ) -> int:
        """Queue a status change for the gateway to pull; returns its cursor position."""
        with self._lock:
            row = self._db.execute(
                "SELECT site, id FROM tickets WHERE id = ? OR ref = ? ORDER BY seq DESC", (ticket_id, ticket_id)
            ).fetchone()
            if row is None:
                raise KeyError(ticket_id)
            real_id = row[1]
            update = {"id": real_id, "status": status, "note": note, "notify": notify, "message": message or {}}
            cur = self._db.execute(
                "INSERT INTO updates (site, ticket_id, update_) VALUES (?, ?, ?)",
                (row[0], real_id, json.dumps(update, ensure_ascii=False)),
            )
            return int(cur.lastrowid or 0)

    def add_updates(self, updates: Iterable[dict[str, Any]]) -> int:
        """Many updates at once, in one transaction (a backlog for a test or a benchmark): each
        a dict with ``id`` (a ticket id the stub holds) and ``status``, as in ``GET /updates``.
        Returns the last cursor position."""
        with self._lock:
            sites = dict(self._db.execute("SELECT id, site FROM tickets").fetchall())
            rows = []
            for update in updates:
                if update.get("id") not in sites:
                    raise KeyError(update.get("id"))
                rows.append((sites[update["id"]], update["id"], json.dumps(update, ensure_ascii=False)))
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO updates (site, ticket_id, update_) VALUES (?, ?, ?)", rows)
                (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM updates").fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(last)

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket held, in arrival order, with how often it was pushed."""
        with self._lock:
            rows = self._db.execute("SELECT ticket, pushes, seq FROM tickets ORDER BY seq").fetchall()
        return [{**json.loads(t), "crm_id": f"CRM-{seq}", "pushes": pushes} for t, pushes, seq in rows]

    def stats(self) -> dict[str, int]:
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            (records,) = self._db.execute("SELECT COUNT(*) FROM tickets").fetchone()
        return {
            "records": int(records),
            "accepted": counters.get("accepted", 0),
            "duplicates": counters.get("duplicates", 0),
            "repeat_updates": counters.get("repeat_updates", 0),
            "rejected": counters.get("rejected", 0),
            "refused_batches": counters.get("refused_batches", 0),
            "unauthorised": counters.get("unauthorised", 0),
            "pushes": counters.get("pushes", 0),  # batches stored
            "requests": counters.get("requests", 0),  # POST /tickets, faulted ones included
            "pulls": counters.get("pulls", 0),
        }

    # ------------------------------------------------------------------ the protocol

    def _count(self, **deltas: int) -> None:
        self._db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            [(k, v, v) for k, v in deltas.items() if v],
        )

    def _authorised(self, headers: Any, body: bytes, *, signed: bool = True) -> str | None:
        """None when the request may proceed, else why not. The stub's own control endpoints
        (``/_stub/...``, for curl) need the token only."""
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            return "missing or wrong bearer token"
        if self.secret and signed:
            ok = protocol.verify(
                self.secret,
                headers.get(protocol.TIMESTAMP_HEADER, ""),
                body,
                headers.get(protocol.SIGNATURE_HEADER, ""),
                now=time.time(),
                tolerance=self.tolerance,
            )
            if not ok:
                return "bad signature or timestamp"
        return None

    def _take_fault(self) -> Fault:
        with self._lock:
            if not self.faults:
                return Fault()
            fault = self.faults[0]
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.pop(0)
            return Fault(fault.mode, fault.status, fault.delay)

    def push(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /tickets`` (already authorised): the status and JSON to answer."""
        try:
            doc = json.loads(body)
            site, tickets = doc["site"], doc["tickets"]
            if not isinstance(site, str) or not isinstance(tickets, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, {"error": 'expected {"site": ..., "batch_id": ..., "tickets": [...]}'}
        ids = [t.get("id") for t in tickets if isinstance(t, dict)]
        with self._lock:
            refused = next((i for i in ids if i in self.refuse), None)
            if refused is not None:
                self._count(refused_batches=1)
                return self.refuse[refused], {"error": f"ticket {refused}: refused by the CRM's validation"}
        results = []
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                counts = {"accepted": 0, "duplicates": 0, "repeat_updates": 0, "rejected": 0, "pushes": 1}
                for t in tickets:
                    results.append(self._store(t, site, now, counts))
                self._count(**counts)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return 200, {"results": results}

    def _store(self, t: Any, site: str, now: str, counts: dict[str, int]) -> dict[str, Any]:
        if not isinstance(t, dict):
            counts["rejected"] += 1
            return {"id": None, "status": "rejected", "error": "not an object"}
        tid = t.get("id")
        missing = [k for k in REQUIRED if not isinstance(t.get(k), str) or not t.get(k)]
        if missing or t.get("site") != site:
            counts["rejected"] += 1
            error = f"missing {', '.join(missing)}" if missing else "site differs from the batch's"
            return {"id": tid, "status": "rejected", "error": error}
        repeats = t.get("repeat_count") if isinstance(t.get("repeat_count"), int) else 0
        row = self._db.execute("SELECT seq, repeat_count FROM tickets WHERE id = ?", (tid,)).fetchone()
        if row is None:
            cur = self._db.execute(
                "INSERT INTO tickets (id, site, ref, repeat_count, ticket, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (tid, site, t.get("ref"), repeats, json.dumps(t, ensure_ascii=False), now),
            )
            counts["accepted"] += 1
            return {"id": tid, "status": "accepted", "crm_id": f"CRM-{cur.lastrowid}"}
        seq, held = row
        if repeats > held:
            self._db.execute(
                "UPDATE tickets SET repeat_count = ?, pushes = pushes + 1, ticket = ? WHERE id = ?",
                (repeats, json.dumps(t, ensure_ascii=False), tid),
            )
            counts["repeat_updates"] += 1
        else:
            self._db.execute("UPDATE tickets SET pushes = pushes + 1 WHERE id = ?", (tid,))
            counts["duplicates"] += 1
        return {"id": tid, "status": "duplicate", "crm_id": f"CRM-{seq}"}

    def updates(self, site: str, since: str, limit: str = "") -> dict[str, Any]:
        """``GET /updates``: the updates after ``since`` in order, at most ``limit`` of them."""
        after = 0 if self.ignore_since or not since.isdigit() else int(since)
        page = min(max(int(limit), 1), MAX_UPDATES_PAGE) if limit.isdigit() else UPDATES_PAGE
        with self._lock:
            self._count(pulls=1)
            rows = self._db.execute(
                "SELECT seq, update_ FROM updates WHERE site = ? AND seq > ? ORDER BY seq LIMIT ?",
                (site, after, page),
            ).fetchall()
        cursor = str(rows[-1][0]) if rows else str(after)
        return {"updates": [json.loads(u) for _, u in rows], "cursor": cursor}


class _Handler(BaseHTTPRequestHandler):
    stub: CrmStub
    protocol_version = "HTTP/1.1"
    server_version = "crm-stub/1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out as separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back 40 ms
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.stub._lock:
            self.stub._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.stub._lock:
            self.stub._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("crm_stub_request", line=format % args)

    def _answer(self, status: int, doc: Any, *, trickle: float = 0.0) -> None:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            if not trickle:
                self.wfile.write(body)
                return
            self.wfile.flush()
            for i in range(len(body)):  # a byte at a time: every read gets something, the answer never ends
                time.sleep(trickle)
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        stub = self.stub
        if url.path == "/health":
            self._answer(stub.health_status, {"ok": stub.health_status == 200})
            return
        denied = stub._authorised(self.headers, b"", signed=not url.path.startswith("/_stub/"))
        if denied:
            with stub._lock:
                stub._count(unauthorised=1)
            self._answer(401, {"error": denied})
        elif url.path == "/updates":
            self._answer(200, stub.updates(query.get("site", ""), query.get("since", ""), query.get("limit", "")))
        elif url.path == "/_stub/tickets":
            self._answer(200, stub.tickets())
        elif url.path == "/_stub/stats":
            self._answer(200, stub.stats())
        else:
            self._answer(404, {"error": f"no {url.path}"})

    def do_POST(self) -> None:
        stub = self.stub
        path = urlsplit(self.path).path
        body = self._body()
        denied = stub._authorised(self.headers, body, signed=not path.startswith("/_stub/"))
        if denied:
            with stub._lock:
                stub._count(unauthorised=1)
            self._answer(401, {"error": denied})
            return
        if path == "/tickets":
            self._push(body)
        elif path.startswith("/_stub/"):
            self._control(path, body)
        else:
            self._answer(404, {"error": f"no {path}"})

    def _push(self, body: bytes) -> None:
        with self.stub._lock:
            self.stub._count(requests=1)
        fault = self.stub._take_fault()
        if fault.mode == "error":
            self._answer(fault.status, {"error": "simulated CRM failure"})
            return
        if fault.mode == "slow":
            time.sleep(fault.delay)
        status, doc = self.stub.push(body)
        if fault.mode == "late":
            time.sleep(fault.delay)
        self._answer(status, doc, trickle=fault.delay if fault.mode == "trickle" else 0.0)

    def _control(self, path: str, body: bytes) -> None:
        try:
            doc = json.loads(body or b"{}")
            if path == "/_stub/fault":
                self.stub.set_fault(
                    doc.get("mode", "none"),
                    status=int(doc.get("status", 500)),
                    delay=float(doc.get("delay", 0)),
                    count=doc.get("count"),
                )
                self._answer(200, {"ok": True})
            elif path == "/_stub/refuse":
                self.stub.refuse_tickets(doc["ids"], int(doc.get("status", 422)))
                self._answer(200, {"ok": True})
            elif path == "/_stub/updates":
                cursor = self.stub.add_update(
                    doc["id"],
                    doc["status"],
                    note=doc.get("note"),
                    notify=bool(doc.get("notify")),
                    message=doc.get("message"),
                )
                self._answer(200, {"cursor": str(cursor)})
            else:
                self._answer(404, {"error": f"no {path}"})
        except KeyError as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": f"unknown ticket or missing field {exc}"})
        except (ValueError, TypeError) as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
