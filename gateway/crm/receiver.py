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
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gateway.crm import protocol
from gateway.crm.events_protocol import desk_change_stands
from gateway.crm.receiver_events import take_events
from gateway.crm.receiver_http import bind
from gateway.crm.receiver_outages import take_outages
from gateway.store.receiver import ReceiverStore

REQUIRED = ("id", "ref", "site", "phone", "category", "received_at")
UPDATES_PAGE = 500  # updates per page when the gateway sends no `limit`
MAX_UPDATES_PAGE = 10_000  # the most a `limit` gets
SHUTDOWN_POLL = 0.05  # seconds: how often the serving thread looks whether it is asked to stop


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
        self._db = ReceiverStore(self.database)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ running

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CrmStub:
        """Listen and serve in a background thread (``port=0`` picks a free port once)."""
        self._server = server = self._bind()
        # a short poll: down() and close() (server.shutdown) return within it, not within the default 0.5 s
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(SHUTDOWN_POLL), name="crm-stub", daemon=True
        )
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
        return bind(self)

    def connected(self, conn: socket.socket) -> None:
        """A client connected (cut by :meth:`down`)."""
        with self._lock:
            self._connections.add(conn)

    def disconnected(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

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
        changed_at: str | None = None,
    ) -> int:
        """Queue a status change the CRM made (``changed_at``: when, default now) for the gateway
        to pull; returns its cursor position. It becomes the CRM's status unless the desk's own
        status change (an event) was made later."""
        changed_at = changed_at or _now()
        with self._lock:
            found = self._db.find_ticket(ticket_id)
            if found is None:
                raise KeyError(ticket_id)
            site, real_id = found
            update = {"id": real_id, "status": status, "note": note, "notify": notify, "message": message or {},
                      "changed_at": changed_at}  # fmt: skip
            with self._db.transaction():
                current = self._db.status_of(real_id)
                if current is None or not desk_change_stands(changed_at, current[1]):
                    self._db.set_status(real_id, status, changed_at, "crm")
                return self._db.add_updates([(site, real_id, json.dumps(update, ensure_ascii=False))])

    def add_updates(self, updates: Iterable[dict[str, Any]]) -> int:
        """Many updates at once, in one transaction (a backlog for a test or a benchmark): each
        a dict with ``id`` (a ticket id the stub holds) and ``status``, as in ``GET /updates``.
        Returns the last cursor position."""
        with self._lock:
            sites = self._db.ticket_sites()
            rows = []
            for update in updates:
                if update.get("id") not in sites:
                    raise KeyError(update.get("id"))
                rows.append((sites[update["id"]], update["id"], json.dumps(update, ensure_ascii=False)))
            with self._db.transaction():
                return self._db.add_updates(rows)

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket held, in arrival order, with how often it was pushed."""
        with self._lock:
            rows = self._db.tickets()
        return [{**json.loads(t), "crm_id": f"CRM-{seq}", "pushes": pushes} for t, pushes, seq in rows]

    def ticket_events(self) -> list[dict[str, Any]]:
        """Every event held, in arrival order, with how often it was pushed and whether it set
        the ticket's status."""
        with self._lock:
            rows = self._db.events()
        return [{**json.loads(e), "pushes": pushes, "applied": applied} for e, pushes, applied in rows]

    def outage_events(self) -> list[dict[str, Any]]:
        """Every outage event held (``POST /outages``), in arrival order, with how often it was pushed."""
        with self._lock:
            rows = self._db.outage_events()
        return [{**json.loads(e), "pushes": pushes} for e, pushes in rows]

    def status(self, ticket_id: str) -> tuple[str, str, str] | None:
        """The CRM's status of a ticket: (status, when it was made, by whom), None while unchanged."""
        with self._lock:
            return self._db.status_of(ticket_id)

    def stats(self) -> dict[str, int]:
        with self._lock:
            counters = self._db.counters()
            records = self._db.ticket_count()
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
            "events_accepted": counters.get("events_accepted", 0),
            "events_duplicates": counters.get("events_duplicates", 0),
            "events_rejected": counters.get("events_rejected", 0),
            "events_not_applied": counters.get("events_not_applied", 0),  # a later CRM status stood
            "event_requests": counters.get("event_requests", 0),
            "outage_events_accepted": counters.get("outage_events_accepted", 0),
            "outage_events_duplicates": counters.get("outage_events_duplicates", 0),
            "outage_events_rejected": counters.get("outage_events_rejected", 0),
        }

    # ------------------------------------------------------------------ the protocol

    def count(self, **deltas: int) -> None:
        """Add to the counters :meth:`stats` shows."""
        with self._lock:
            self._db.count(**deltas)

    def authorised(self, headers: Any, body: bytes, *, signed: bool = True) -> str | None:
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

    def take_fault(self) -> Fault:
        """What to do to this push (and count it against the fault's ``count``)."""
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
                self._db.count(refused_batches=1)
                return self.refuse[refused], {"error": f"ticket {refused}: refused by the CRM's validation"}
        results = []
        now = _now()
        with self._lock, self._db.transaction():
            counts = {"accepted": 0, "duplicates": 0, "repeat_updates": 0, "rejected": 0, "pushes": 1}
            for t in tickets:
                results.append(self._store(t, site, now, counts))
            self._db.count(**counts)
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
        tid = str(tid)
        repeats: int = t["repeat_count"] if isinstance(t.get("repeat_count"), int) else 0
        row = self._db.held(tid)
        if row is None:
            seq = self._db.add_ticket(tid, site, t.get("ref"), repeats, json.dumps(t, ensure_ascii=False), now)
            counts["accepted"] += 1
            return {"id": tid, "status": "accepted", "crm_id": f"CRM-{seq}"}
        seq, held = row
        if repeats > held:
            self._db.repush(tid, repeats, json.dumps(t, ensure_ascii=False))
            counts["repeat_updates"] += 1
        else:
            self._db.repush(tid)
            counts["duplicates"] += 1
        return {"id": tid, "status": "duplicate", "crm_id": f"CRM-{seq}"}

    def push_events(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /ticket-events`` (already authorised): the status and JSON to answer. A batch
        holding an event of a refused ticket (:meth:`refuse_tickets`) is refused as a whole."""
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            tids = [e.get("ticket_id") for e in json.loads(body)["events"] if isinstance(e, dict)]
            with self._lock:
                refused = next((i for i in tids if i in self.refuse), None)
                if refused is not None:
                    self._db.count(refused_batches=1)
                    return self.refuse[refused], {"error": f"ticket {refused}: its events refused by the CRM"}
        with self._lock, self._db.transaction():
            status, doc, counts = take_events(self._db, body, _now())
            self._db.count(**counts)
        return status, doc

    def push_outages(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /outages`` (already authorised): the status and JSON to answer."""
        with self._lock, self._db.transaction():
            status, doc, counts = take_outages(self._db, body, _now())
            self._db.count(**counts)
        return status, doc

    def updates(self, site: str, since: str, limit: str = "") -> dict[str, Any]:
        """``GET /updates``: the updates after ``since`` in order, at most ``limit`` of them."""
        after = 0 if self.ignore_since or not since.isdigit() else int(since)
        page = min(max(int(limit), 1), MAX_UPDATES_PAGE) if limit.isdigit() else UPDATES_PAGE
        with self._lock:
            self._db.count(pulls=1)
            rows = self._db.updates_after(site, after, page)
        cursor = str(rows[-1][0]) if rows else str(after)
        return {"updates": [json.loads(u) for _, u in rows], "cursor": cursor}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
