"""The daemon: ``start()`` / ``stop()`` around the store, the SIM bank, intake and dispatch.

Start-up: open and migrate the database; queue again the sends a crash left
half-done; route messages a crash left committed but unrouted; connect the
modems (each one that fails is reported with its reason and retried with
backoff while the others serve). Shutdown (SIGINT/SIGTERM): stop taking new
sends, wait for the ones in flight, finish SIM deletes, close the modems,
close the database.

The daemon is composition: it builds the services (the dispatcher, the database
watch, housekeeping, the SIM monitor, USSD, the broadcast pacer, CRM sync, webhooks), runs
them on one :class:`gateway.runtime.Runtime`, wakes them by name and stops them in
order, each step bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.broadcast.pacing import Pacer
from gateway.config import Config, secrets_exposed
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.keywords import load_catalogue
from gateway.conversation.replies import oversized
from gateway.crm.sync import SyncService
from gateway.events import GatewayEvent, MessageRouted, Observer, OutboxDone
from gateway.hooks.delivery import WebhookService
from gateway.inbound.cell_broadcast import record as record_cell_broadcast
from gateway.inbound.intake import Intake
from gateway.inbound.reports import apply_report
from gateway.lockfile import DaemonLock, holder_name
from gateway.ops.housekeeping import Housekeeping
from gateway.ops.metrics import MetricsServer
from gateway.outbound.dispatcher import Dispatcher
from gateway.outbound.quotas import QuotaBook, sim_limits
from gateway.runtime import BaseService, Clock, Intervals, Runtime, Tasks, as_clock
from gateway.sims.monitor import SimMonitor
from gateway.sims.ussd import UssdService
from gateway.store import STORE_ERRORS, Store
from gateway.store import files as private_files
from gateway.store.watch import DatabaseWatch
from sim_bank import BankEvent, CellBroadcast, DeliveryReport, GsmSimBank, InboundBatch, ModemState, SimBank

log = structlog.get_logger("gateway.daemon")

DRAIN_DELETES = 5.0  # seconds shutdown waits for SIM deletes in flight
STOP_STEP_TIMEOUT = 30.0  # seconds any one shutdown step may take before the next one runs


class Daemon:
    def __init__(
        self,
        config: Config,
        bank: SimBank,
        *,
        catalogue: Catalogue | None = None,
        observer: Observer | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        intervals: Mapping[str, Intervals] | None = None,
    ) -> None:
        self.clock = as_clock(clock)  # wall: calendars (tests move it past midnight); monotonic: waits
        self._intervals = dict(intervals or {})  # per service name, instead of the service's own (tests)
        self.runtime = Runtime(self.clock, retry_on=STORE_ERRORS)
        self.config = config
        self.bank = bank
        self.catalogue = catalogue or load_catalogue(config.catalogue_path)
        for problem in oversized(self.catalogue, config.conversation.reply_max_parts):
            log.warning("reply_too_long", problem=problem)
        self.observer = observer
        self.store: Store | None = None
        self.intake: Intake | None = None
        self.dispatcher: Dispatcher | None = None
        self.quota: QuotaBook | None = None
        self.monitor: SimMonitor | None = None
        self.ussd: UssdService | None = None
        self.sync: SyncService | None = None
        self.pacer: Pacer | None = None
        self._tasks = Tasks()  # intake batches and delivery reports in flight
        self._stopped = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self.failure: Exception | None = None  # why the daemon stopped itself (exit non-zero)
        self._started = False
        self._lock = DaemonLock(config.database_path)
        self.metrics: MetricsServer | None = None
        self._bank_started = False

    async def start(self) -> None:
        self._lock.acquire()  # one daemon per database: the second one stops here, saying why
        exposed = secrets_exposed(self.config)
        if exposed:
            log.warning("config_readable_by_others", problem=exposed, fix=f"chmod 640 {self.config.path}")
        try:
            await self._start()
        except BaseException:
            try:  # undo what was started, each step whatever the one before did
                await self.runtime.stop()
                if self._bank_started:
                    with contextlib.suppress(Exception):
                        await self.bank.stop()
                if self.metrics is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(self.metrics.stop)
                if self.store is not None:
                    with contextlib.suppress(Exception):
                        await self.store.close()
            finally:
                self._lock.release()
            raise

    async def _start(self) -> None:
        config = self.config
        # quick_check first: serving on a damaged file could lose what customers send
        self.store = store = await Store.open(
            config.database_path,
            site=config.site.id,
            busy_timeout=config.storage.busy_timeout,
            verify=True,
            group=config.storage.group or None,
        )
        for path in private_files.tighten(config.database_path, config.storage.group or None):
            log.warning("database_file_mode_fixed", path=str(path), mode=oct(private_files.PRIVATE))
        requeued = await store.recover()
        if requeued:
            log.warning("outbox_recovered", rows=requeued, note="interrupted sends go out again")
        self.quota = QuotaBook(sim_limits(config), ZoneInfo(config.site.timezone), self.clock)
        await self.quota.load(store)
        self.dispatcher = Dispatcher(
            store,
            self.bank,
            config.send,
            quota=self.quota,
            operators=config.operators,
            sim_operator={m.id: config.sim(m.id).operator for m in config.modems},
            observer=self._observe,
            clock=self.clock,
        )
        self.intake = Intake(
            store,
            self.bank,
            self.catalogue,
            config,
            on_reply=self.dispatcher.wake,
            observer=self._observe,
            on_fatal=self.fail,
            clock=self.clock,
        )
        self.monitor = SimMonitor(store, self.bank, config, self.quota, clock=self.clock)
        self.ussd = UssdService(store, self.bank, config, self.monitor, clock=self.clock)
        self.sync = SyncService(
            store,
            config,
            self.catalogue,
            holder=holder_name("daemon"),
            on_notice=self.dispatcher.wake,
            clock=self.clock,
        )
        self.pacer = Pacer(store, config, self.bank, on_release=self.dispatcher.wake, clock=self.clock)
        await self.intake.route_waiting()
        if config.metrics.listen:  # before the modems: a port already taken stops the start cleanly
            self.metrics = MetricsServer(config.database_path, config.metrics.listen)
            self.metrics.start()
            log.info("metrics_listening", host=self.metrics.host, port=self.metrics.port)
        self._bank_started = True  # set first: a bank that fails halfway through starting is stopped too
        self.bank.start(asyncio.get_running_loop(), self._on_bank_event)
        self._add(self.dispatcher)
        self._add(DatabaseWatch(store, on_change=self._database_changed, on_replaced=self.fail))
        self._add(Housekeeping(store, self.intake, config, self.clock))
        self._add(self.monitor)
        self._add(self.ussd)
        self._add(self.pacer)
        if config.crm.enabled:
            self._add(self.sync, should_wake=self.sync.worth_waking)
        self._add(WebhookService(store, self.clock))  # its own loop and HTTP client: never in intake's way
        self.runtime.start()
        self._started = True
        log.info(
            "gateway_started",
            site=config.site.id,
            database=str(config.database_path),
            modems=len(self.bank.modem_ids),
        )

    def _add(self, service: BaseService, should_wake: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.runtime.add(service, self._intervals.get(service.name, service.intervals), should_wake=should_wake)

    async def stop(self) -> None:
        """Drain and close, in order. Every step runs even if one before it failed: a
        shutdown that stops halfway would leave the modems open and the process alive."""
        if not self._started:
            return
        self._started = False
        log.info("gateway_stopping")
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        steps.append(("dispatcher", lambda: self.runtime.stop(["dispatcher"])))  # no new sends; those in flight end
        steps.append(("background", self.runtime.stop))
        steps.append(("intake", lambda: self._tasks.drain(None)))
        if self.intake is not None:
            intake = self.intake
            steps.append(("sim deletes", lambda: intake.drain(timeout=DRAIN_DELETES)))  # a modem that is down cannot
        steps.append(("modems", self.bank.stop))  # resolves whatever the modems still had queued
        if self.monitor is not None:
            steps.append(("sim status", self.monitor.publish))
        if self.intake is not None:
            steps.append(("sim deletes", intake.drain))
        if self.metrics is not None:
            metrics = self.metrics
            steps.append(("metrics", lambda: asyncio.to_thread(metrics.stop)))
        if self.store is not None:
            steps.append(("database", self.store.close))
        for name, step in steps:
            try:
                await asyncio.wait_for(step(), STOP_STEP_TIMEOUT)
            except TimeoutError:
                log.error("gateway_stop_step_timed_out", step=name, timeout=STOP_STEP_TIMEOUT)
            except Exception:  # keep going: the remaining steps matter more than this one
                log.exception("gateway_stop_step_failed", step=name)
        self._lock.release()
        self._stopped.set()
        log.info("gateway_stopped")

    def fail(self, exc: Exception) -> None:
        """Stop the daemon because it must not go on (the database file was swapped under
        it): logged at once, then :meth:`run_forever` stops cleanly and raises ``exc``."""
        if self.failure is None:
            self.failure = exc
            log.error("gateway_must_stop", error=str(exc))
        self._stop_requested.set()

    async def wait_stop_requested(self) -> None:
        """Until a signal or :meth:`fail` asks the daemon to stop."""
        await self._stop_requested.wait()

    async def run_forever(self) -> None:
        """Run until SIGINT or SIGTERM, then stop cleanly. A second signal during the
        shutdown exits at once: every commit is durable, so this loses nothing the
        database knows (a send in flight may go out again at the next start)."""
        loop = asyncio.get_running_loop()
        stop = self._stop_requested

        def on_signal() -> None:
            if stop.is_set():
                log.warning("gateway_forced_exit")
                os._exit(130)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
        if self.failure is not None:
            raise self.failure

    # ------------------------------------------------------------ events from the SIM bank (on the loop)

    def _observe(self, event: GatewayEvent) -> None:
        """Gateway events: a send error becomes its SIM's last error; then the caller's observer."""
        if isinstance(event, OutboxDone) and event.error and event.modem_id and self.monitor is not None:
            self.monitor.send_error(event.modem_id, event.error)
        turn = event.turn if isinstance(event, MessageRouted) else None
        if turn is not None and turn.action in ("ticket", "merge"):
            self.runtime.wake("crm-sync")  # a new ticket, or a repeat the CRM should count
        self.runtime.wake("webhooks")  # the change is journalled: its event may have receivers
        if self.observer is not None:
            self.observer(event)

    def _on_bank_event(self, event: BankEvent) -> None:
        if isinstance(event, InboundBatch):
            if self.intake is not None and self._started:
                self._spawn(self.intake.handle_batch(event))
            # while stopping, a batch is left alone: it stays on the SIM for the next start
        elif isinstance(event, ModemState):
            if event.state in ("down", "quarantined"):
                log.warning(
                    "modem_" + event.state, modem_id=event.modem_id, reason=event.reason, retry_in=event.retry_in
                )
            elif event.state == "ready" and event.info is not None:
                info = event.info
                log.info(
                    "modem_ready", modem_id=event.modem_id, operator=info.operator, signal=info.signal, model=info.model
                )
            else:
                log.info("modem_" + event.state, modem_id=event.modem_id)
            if event.state == "ready":
                self.runtime.wake("dispatcher")
        elif isinstance(event, DeliveryReport) and self.store is not None and self._started:
            self._spawn(apply_report(self.store, event.modem_id, event.report, self._observe))
        elif isinstance(event, CellBroadcast) and self.store is not None and self._started:
            self._spawn(self._heard(event))
        if self.monitor is not None:
            self.monitor.on_event(event)

    async def _heard(self, event: CellBroadcast) -> None:
        if self.store is not None:
            await record_cell_broadcast(self.store, event, self.clock.wall())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coro)

    def _database_changed(self) -> None:
        """Another process committed: `gateway send`, a campaign created, paused or resumed,
        `gateway ussd`, `gateway sync now` asking."""
        self.runtime.wake("dispatcher", "ussd", "crm-sync", "campaigns", "webhooks")


def bank_for(config: Config) -> GsmSimBank:
    """The SIM bank for ``config``: its [[modems]], with its [health] policy."""
    return GsmSimBank(config.modems, policy=config.health_policy)
