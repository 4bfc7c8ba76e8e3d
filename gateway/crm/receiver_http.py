"""The reference CRM receiver's HTTP face: the standard library's threading server.

Enough for a test double that must itself never be the bottleneck on loopback;
what each request does is :class:`gateway.crm.receiver.CrmStub`'s.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import structlog

if TYPE_CHECKING:
    from gateway.crm.receiver import CrmStub

log = structlog.get_logger("gateway.crm.receiver")


def bind(stub: CrmStub) -> ThreadingHTTPServer:
    """A server for ``stub`` on its host and port (``port=0``: a free one, which ``stub.port`` then holds)."""

    class Handler(_Handler):
        pass

    Handler.stub = stub
    server = _Server((stub.host, stub.port), Handler)
    server.daemon_threads = True
    stub.port = server.server_address[1]
    return server


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (the link cut by :meth:`CrmStub.down`, a gateway killed
        mid-request) is part of the job; anything else is logged, never printed."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("crm_stub_client_gone", client=str(client_address), error=type(error).__name__)
        else:
            log.error("crm_stub_request_failed", client=str(client_address), exc_info=True)


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
        self.stub.connected(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.stub.disconnected(self.connection)

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
        denied = stub.authorised(self.headers, b"", signed=not url.path.startswith("/_stub/"))
        if denied:
            stub.count(unauthorised=1)
            self._answer(401, {"error": denied})
        elif url.path == "/updates":
            self._answer(200, stub.updates(query.get("site", ""), query.get("since", ""), query.get("limit", "")))
        elif url.path == "/_stub/tickets":
            self._answer(200, stub.tickets())
        elif url.path == "/_stub/events":
            self._answer(200, stub.ticket_events())
        elif url.path == "/_stub/stats":
            self._answer(200, stub.stats())
        else:
            self._answer(404, {"error": f"no {url.path}"})

    def do_POST(self) -> None:
        stub = self.stub
        path = urlsplit(self.path).path
        body = self._body()
        denied = stub.authorised(self.headers, body, signed=not path.startswith("/_stub/"))
        if denied:
            stub.count(unauthorised=1)
            self._answer(401, {"error": denied})
            return
        if path == "/tickets":
            self._push(body)
        elif path == "/ticket-events":
            self._push(body, events=True)
        elif path == "/outages":
            self.stub.count(outage_requests=1)
            self._answer(*self.stub.push_outages(body))
        elif path.startswith("/_stub/"):
            self._control(path, body)
        else:
            self._answer(404, {"error": f"no {path}"})

    def _push(self, body: bytes, *, events: bool = False) -> None:
        """A push of tickets or of the desk's events; the faults planned apply to both."""
        self.stub.count(**({"event_requests": 1} if events else {"requests": 1}))
        fault = self.stub.take_fault()
        if fault.mode == "error":
            self._answer(fault.status, {"error": "simulated CRM failure"})
            return
        if fault.mode == "slow":
            time.sleep(fault.delay)
        status, doc = self.stub.push_events(body) if events else self.stub.push(body)
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
                    changed_at=doc.get("changed_at"),
                )
                self._answer(200, {"cursor": str(cursor)})
            else:
                self._answer(404, {"error": f"no {path}"})
        except KeyError as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": f"unknown ticket or missing field {exc}"})
        except (ValueError, TypeError) as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
