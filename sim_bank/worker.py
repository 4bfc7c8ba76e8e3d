"""One worker thread per modem: it alone talks to its serial port.

The event loop never calls python-gsmmodem. It hands jobs to the worker
(send, delete, sweep) and awaits an ``asyncio.Future`` that the worker resolves
with ``loop.call_soon_threadsafe``; what the modem says by itself (new SMS,
status reports, the port vanishing) comes back as events the same way. This
module is the thread, its jobs and the reconnects; the AT conversation of one
connection is :mod:`sim_bank.session`, the SIM's memories :mod:`sim_bank.storage`,
what the modem says by itself :mod:`sim_bank.urcs`.

How the library's message-losing paths (``../shared/notes/python-gsmmodem.md``)
are avoided:

* Its ``+CMTI`` handler reads *and deletes* the message before we have stored
  it, and handles only the first of several ``+CMTI`` in a burst. We replace
  the notification dispatch: any ``+CMTI`` only asks for a sweep, and a sweep
  lists the whole memory with ``AT+CMGL=4``. The sweep also runs on a timer,
  so a notification swallowed into a command's response (or never sent) costs
  at most ``sweep_interval`` seconds, never a message.
* We parse ``+CMGL`` ourselves (``at.parse_cmgl``) so every message keeps the
  index the modem gave it; undecodable PDUs are handed over raw, not skipped.
* A message is deleted from the SIM only when the gateway asks, after commit.
* A non-UTF-8 byte kills the library's reader thread silently; our subclass
  restarts the read loop, and the worker still checks the thread is alive.
* Only this thread writes to the port, and multi-command operations hold the
  library's ``_txLock`` as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from .backoff import backoff_delay
from .cbm_subscribe import subscribe
from .exceptions import CommandFailed, EncodeError, ModemConnectError, ModemError, ModemUnavailable, PduError
from .session import ModemSession
from .storage import SimStorage
from .types import BankEvent, ModemConfig, ModemInfo, ModemState, OutgoingSms, SendResult
from .urcs import UrcHandler
from .ussd import UssdReply

log = structlog.get_logger("sim_bank.worker")

USSD_TIMEOUT = 30.0
_USSD_TEXT = re.compile(r"[0-9A-Za-z*#+ ]{1,64}")
ERROR_PAUSE = 1.0  # seconds the thread rests after an internal error, before it reconnects

# job priorities: lower runs first
_P_STORAGE = 0  # sweeps and deletes keep the SIM from filling up and the hot path short
_P_SEND = 1
_P_STOP = 2


@dataclass
class _Job:
    run: Callable[[], Any]
    future: asyncio.Future[Any] | None
    kind: str


class ModemWorker:
    """Owns one modem. Loop-side methods are coroutines or thread-safe; the rest runs on the worker thread."""

    def __init__(
        self,
        config: ModemConfig,
        *,
        loop: asyncio.AbstractEventLoop,
        on_event: Callable[[BankEvent], None],
    ) -> None:
        self.config = config
        self.id = config.id
        self._loop = loop
        self._on_event = on_event
        self._jobs: queue.PriorityQueue[tuple[int, int, _Job]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._closed = False  # the thread has shut down: no job will run any more
        self._closed_lock = threading.Lock()
        self._session: ModemSession | None = None
        self._deferred: list[tuple[int, int, _Job]] = []  # storage jobs waiting for a reconnect
        self._urcs = UrcHandler(self.id, emit=self._emit, request_sweep=self.request_sweep)
        self._storage = SimStorage(self.id, self._emit)
        self._next_sweep = 0.0
        self._next_poll = 0.0
        self._state = "connecting"
        self._info = ModemInfo()
        self.line_noise = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"modem-{config.id}", daemon=True)

    # ------------------------------------------------------------ loop side

    @property
    def ready(self) -> bool:
        return self._state == "ready"

    @property
    def state(self) -> str:
        return self._state

    @property
    def info(self) -> ModemInfo:
        """What the modem said about itself, with the memories swept now."""
        return dataclasses.replace(self._info, memories=self._storage.memories)

    def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        self._put(_P_STOP, _Job(lambda: None, None, "stop"))
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, 10)

    async def send(self, sms: OutgoingSms) -> SendResult:
        """Send on this modem. Raises :class:`SendFailed`, :class:`ModemUnavailable` or :class:`EncodeError`."""
        if not self.ready:
            raise ModemUnavailable(self.id, f"modem is {self._state}")
        return await self._submit(_P_SEND, lambda: self._connected().send(sms), "send")  # type: ignore[no-any-return]

    async def delete(self, memory: str, indexes: list[int]) -> None:
        """Delete messages the gateway has committed. Waits for a reconnect if the modem is down."""
        await self._submit(_P_STORAGE, lambda: self._storage.delete(self._connected(), memory, indexes), "delete")

    def release(self, memory: str, indexes: list[int]) -> None:
        """The gateway could not store these: forget them so the next sweep hands them over again."""
        self._put(_P_STORAGE, _Job(lambda: self._storage.forget(memory, indexes), None, "release"))

    def request_sweep(self, memory: str | None = None) -> None:
        """Thread-safe: list the SIM soon (one memory, or all)."""
        if self._storage.want(memory):
            self._put(_P_STORAGE, _Job(self._sweep, None, "sweep"))

    async def ussd(self, code: str, *, cancel: bool = False, timeout: float = USSD_TIMEOUT) -> UssdReply:
        """Dial ``code`` (``*140#``), or answer the open session's menu with it, and wait for
        the network's answer. ``cancel`` ends an open session."""
        if not cancel and not _USSD_TEXT.fullmatch(code):
            raise ModemError(self.id, f"{code!r} is not a USSD string (digits, letters, * # +, at most 64)")
        if not self.ready:
            raise ModemUnavailable(self.id, f"modem is {self._state}")
        return await self._submit(  # type: ignore[no-any-return]
            _P_STORAGE, lambda: self._connected().ussd(code, cancel, timeout), "command"
        )

    async def command(self, command: str, timeout: float | None = None) -> list[str]:
        """Run one AT command (doctor, USSD, diagnostics) and return its response lines."""
        if not self.ready:
            raise ModemUnavailable(self.id, f"modem is {self._state}")
        return await self._submit(  # type: ignore[no-any-return]
            _P_STORAGE, lambda: self._connected().write(command, timeout=timeout), "command"
        )

    async def _submit(self, priority: int, fn: Callable[[], Any], kind: str) -> Any:
        fut: asyncio.Future[Any] = self._loop.create_future()
        if not self._put(priority, _Job(fn, fut, kind)):
            raise ModemUnavailable(self.id, "gateway is stopping")
        return await fut

    def _put(self, priority: int, job: _Job) -> bool:
        """Queue ``job``; False once the thread has shut down (nothing would ever run it)."""
        with self._closed_lock:
            if self._closed:
                return False
            self._jobs.put((priority, next(self._seq), job))
            return True

    # ------------------------------------------------------------ thread -> loop

    def _emit(self, event: BankEvent) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            self._loop.call_soon_threadsafe(self._on_event, event)

    def _resolve(self, fut: asyncio.Future[Any] | None, result: Any = None, exc: BaseException | None = None) -> None:
        if fut is None:
            return

        def settle() -> None:
            if fut.done():
                return
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)

    def _set_state(self, state: str, reason: str | None = None, retry_in: float | None = None) -> None:
        self._state = state
        self._emit(ModemState(self.id, state, reason, self.info, retry_in))  # type: ignore[arg-type]

    # ------------------------------------------------------------ thread main

    def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                if self._session is None:
                    attempt = self._connect_or_wait(attempt)
                else:
                    self._serve_one()
            except Exception:  # this thread must never die silently
                log.exception("modem_worker_error", modem_id=self.id)
                self._drop("internal error (see the log)")
                time.sleep(ERROR_PAUSE)
        self._shutdown()

    def _connect_or_wait(self, attempt: int) -> int:
        """Connect; on failure wait out the backoff. Returns the new attempt count."""
        try:
            self._connect()
        except ModemConnectError as exc:
            attempt += 1
            delay = None if exc.permanent else backoff_delay(attempt, cap=self.config.reconnect_max)
            log.warning("modem_connect_failed", modem_id=self.id, reason=exc.reason, retry_in=delay)
            self._set_state("down", exc.reason, delay)
            self._idle_while_down(delay)
            return attempt
        for item in self._deferred:
            self._jobs.put(item)
        self._deferred.clear()
        return 0

    def _serve_one(self) -> None:
        """Run the next job, or sweep when the timer is due."""
        now = time.monotonic()
        timeout = max(0.0, min(self._next_sweep, self._next_poll) - now)
        try:
            item = self._jobs.get(timeout=timeout)
        except queue.Empty:
            if time.monotonic() >= self._next_poll:
                self._next_poll = time.monotonic() + self.config.health_interval
                self._put(_P_STORAGE, _Job(self._poll_health, None, "poll"))
            if time.monotonic() >= self._next_sweep:
                self.request_sweep()
            return
        job = item[2]
        if job.kind == "stop":
            self._stopping = True
            return
        broken = self._broken()
        if broken is not None:
            self._jobs.put(item)  # run it after the reconnect (or reject it if it is a send)
            self._drop(broken)
            return
        self._run_job(job)

    def _run_job(self, job: _Job) -> None:
        try:
            result = job.run()
        except ModemError as exc:
            self._resolve(job.future, exc=exc)
            session = self._session
            broken = self._broken()
            if broken is not None or (session is not None and session.timeouts >= 2):
                self._drop(broken or exc.reason)
        except (EncodeError, PduError) as exc:
            self._resolve(job.future, exc=exc)
        except Exception as exc:
            log.exception("modem_job_crashed", modem_id=self.id, job=job.kind)
            self._resolve(job.future, exc=ModemError(self.id, f"{job.kind} failed: {exc!r}"))
        else:
            self._resolve(job.future, result)

    def _idle_while_down(self, delay: float | None) -> None:
        """Wait out the backoff; refuse sends (the bank sends elsewhere), keep storage jobs for later."""
        deadline = None if delay is None else time.monotonic() + delay
        while not self._stopping:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            try:
                item = self._jobs.get(timeout=remaining)
            except queue.Empty:
                return
            job = item[2]
            if job.kind == "stop":
                self._stopping = True
                self._jobs.put(item)
                return
            if job.kind in ("send", "command"):
                self._resolve(job.future, exc=ModemUnavailable(self.id, f"modem is down: {self._state}"))
            elif job.kind == "sweep":
                pass  # the first sweep after connecting lists everything anyway
            else:
                self._deferred.append(item)

    def _shutdown(self) -> None:
        with self._closed_lock:
            self._closed = True  # from now on a job is refused when it is submitted
        leftovers = [job for _, _, job in self._deferred]
        self._deferred.clear()
        while True:
            try:
                leftovers.append(self._jobs.get_nowait()[2])
            except queue.Empty:
                break
        for job in leftovers:  # deletes left undone are safe: the next start recognises those messages
            self._resolve(job.future, exc=ModemUnavailable(self.id, "gateway is stopping"))
        self._close()
        self._set_state("stopped")

    # ------------------------------------------------------------ connection (worker thread)

    def _connect(self) -> None:
        self._set_state("connecting")
        self._urcs.reset()
        self._session = None
        try:
            ModemSession.open(
                self.config,
                self._urcs,
                on_lost=self._wake,
                on_line_noise=self._on_line_noise,
                then=self._after_connect,
            )
        except ModemConnectError:
            self._session = None
            raise
        self._set_state("ready")

    def _after_connect(self, session: ModemSession) -> None:
        self._session = session
        self._storage.connected(session)
        self._info = session.read_info(self._storage.memories)
        with contextlib.suppress(CommandFailed):
            session.write("AT+CREG=1")  # registration changes arrive as +CREG: <stat>
        subscribe(session, self.config.cell_broadcast)  # +CBM pages of the channels listened to
        self._next_poll = time.monotonic() + self.config.health_interval
        self._emit(session.health(self._info))
        # sweep everything now: messages that arrived while we were away are on the SIM
        self.request_sweep()

    def _connected(self) -> ModemSession:
        session = self._session
        if session is None:
            raise ModemUnavailable(self.id, "not connected")
        return session

    def _broken(self) -> str | None:
        session = self._session
        return "not connected" if session is None else session.broken()

    def _drop(self, reason: str) -> None:
        log.warning("modem_lost", modem_id=self.id, reason=reason)
        self._close()
        self._set_state("down", reason, 0.0)

    def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # ------------------------------------------------------------ jobs (worker thread)

    def _sweep(self) -> None:
        self._next_sweep = time.monotonic() + self.config.sweep_interval
        self._storage.sweep(self._connected())

    def _poll_health(self) -> None:
        """Signal, registration, operator and SIM storage, for the bank's health checks."""
        session = self._connected()
        self._info = session.poll_radio(self._info)
        self._emit(session.health(self._info))

    # ------------------------------------------------------------ reader thread callbacks

    def _wake(self) -> None:
        """The port failed (reader thread): wake the worker so that it reconnects now."""
        self._put(_P_STORAGE, _Job(lambda: None, None, "wake"))

    def _on_line_noise(self) -> None:
        self.line_noise += 1
        log.warning("modem_line_noise", modem_id=self.id, count=self.line_noise)
        self.request_sweep()  # the garbled line may have been a +CMTI
