"""An optional Prometheus endpoint (``[metrics] listen``), bound to 127.0.0.1 by default.

Each scrape reads a fresh :func:`gateway.ops.stats.snapshot` from the database in
the exporter's own thread (a read-only connection of its own), so a slow scrape
never blocks the daemon, and the metrics say exactly what ``gateway stats``
says. Counters are totals of what the database holds (they fall back when the
retention purge removes old rows; Prometheus treats that as a reset).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.config import parse_listen
from gateway.exceptions import ConfigError
from gateway.ops.stats import snapshot
from gateway.store.database_file import DatabaseFile
from gateway.store.file_views import StatsReader

STATES = ("ready", "quarantined", "down", "connecting", "stopped")


class GatewayCollector(Collector):
    def __init__(self, reader: StatsReader) -> None:
        self.reader = reader
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snap = snapshot(self.reader)
        received = CounterMetricFamily("sms_gateway_sms_received", "Customer SMS received", labels=["sim"])
        for sim, n in snap.received.items():
            received.add_metric([sim], n)
        yield received
        sent = CounterMetricFamily("sms_gateway_sms_sent", "Messages on air (sent, delivered, or unknown outcome)",
                                   labels=["sim", "lane"])  # fmt: skip
        failed = CounterMetricFamily("sms_gateway_sms_failed", "Messages given up", labels=["sim", "lane"])
        totals: dict[tuple[str, str, str], int] = {}
        for row in snap.outbox:
            kind = "sent" if row["status"] in ("sent", "delivered", "unknown") else row["status"]
            key = (row["sim"], row["lane"], kind)
            totals[key] = totals.get(key, 0) + row["messages"]
        for (sim, lane, kind), n in sorted(totals.items()):
            if kind == "sent":
                sent.add_metric([sim, lane], n)
            elif kind == "failed":
                failed.add_metric([sim, lane], n)
        yield sent
        yield failed
        errors = CounterMetricFamily("sms_gateway_send_errors", "Failed send attempts by SIM and +CMS code "
                                     "(none: a timeout, a modem gone)", labels=["sim", "cms"])  # fmt: skip
        for e in snap.send_errors:
            errors.add_metric([e["sim"], e["code"]], e["errors"])
        yield errors
        queue = GaugeMetricFamily("sms_gateway_queue_depth", "Messages waiting, by lane", labels=["lane"])
        for lane, n in snap.queue.items():
            queue.add_metric([lane], n)
        yield queue
        yield GaugeMetricFamily("sms_gateway_oldest_queued_seconds", "Age of the oldest queued message",
                                value=snap.oldest_queued_s or 0.0)  # fmt: skip
        tickets = CounterMetricFamily("sms_gateway_tickets_opened", "Tickets opened", labels=["category"])
        for category, n in snap.tickets.items():
            tickets.add_metric([category], n)
        yield tickets
        sync = snap.sync
        yield GaugeMetricFamily("sms_gateway_sync_backlog", "Tickets not yet at the CRM", value=sync["queued"])
        yield GaugeMetricFamily("sms_gateway_sync_rejected", "Tickets the CRM rejected", value=sync["rejected"])
        yield GaugeMetricFamily("sms_gateway_sync_oldest_unsynced_seconds", "Age of the oldest ticket not at the CRM",
                                value=sync["oldest_unsynced_s"] or 0.0)  # fmt: skip
        yield GaugeMetricFamily("sms_gateway_crm_link_up", "1 when the last CRM exchange worked",
                                value=1.0 if sync["link"] == "up" else 0.0)  # fmt: skip
        suggested = GaugeMetricFamily("sms_gateway_outage_suggested",
                                      "Phones reporting an outage from an area without a declared one "
                                      "([outages] suggest_reports reached)", labels=["area"])  # fmt: skip
        for area, n in snap.outage_suggested.items():
            suggested.add_metric([area], n)
        yield suggested
        yield from _sims(snap.sims)


def _sims(sims: list[dict[str, object]]) -> Iterator[Metric]:
    signal = GaugeMetricFamily("sms_gateway_sim_signal", "Signal (AT+CSQ, 0-31; 99 unknown)", labels=["sim"])
    registered = GaugeMetricFamily("sms_gateway_sim_registered", "1 when registered on a network", labels=["sim"])
    quota = GaugeMetricFamily("sms_gateway_sim_quota_left", "SMS parts left today", labels=["sim"])
    balance = GaugeMetricFamily("sms_gateway_sim_balance", "Last balance read by USSD", labels=["sim", "currency"])
    state = GaugeMetricFamily("sms_gateway_sim_state", "1 for the SIM's current state", labels=["sim", "state"])
    for s in sims:
        sim = str(s["sim"])
        if s["signal"] is not None:
            signal.add_metric([sim], float(s["signal"]))  # type: ignore[arg-type]
        if s["registration"] is not None:
            registered.add_metric([sim], 1.0 if s["registration"] in (1, 5) else 0.0)
        if s["quota_left_today"] is not None:
            quota.add_metric([sim], float(s["quota_left_today"]))  # type: ignore[arg-type]
        if s["balance"] is not None:
            balance.add_metric([sim, str(s["balance_currency"] or "")], float(s["balance"]))  # type: ignore[arg-type]
        for name in STATES:
            state.add_metric([sim, name], 1.0 if s["state"] == name else 0.0)
    yield from (signal, registered, quota, balance, state)


class MetricsServer:
    """The exporter's HTTP server, in a thread of its own."""

    def __init__(self, database: Path, listen: str) -> None:
        self.host, self.port = parse_listen(listen)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(GatewayCollector(DatabaseFile(database)))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            raise ConfigError("[metrics] listen", None, f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                              "another program has that port: choose another one, or stop it") from None  # fmt: skip
        self.port = self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
