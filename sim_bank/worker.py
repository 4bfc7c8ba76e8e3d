"""One worker thread per modem: it alone talks to its serial port.

The event loop never calls python-gsmmodem. It hands jobs to the worker
(send, delete, sweep) and awaits an ``asyncio.Future`` that the worker resolves
with ``loop.call_soon_threadsafe``; what the modem says by itself (new SMS,
status reports, the port vanishing) comes back as events the same way.

How the library's message-losing paths (``../shared/notes/python-gsmmodem.md``)
are avoided here:

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

import serial
import structlog
from gsmmodem.exceptions import (
    CmeError,
    CmsError,
    CommandError,
    IncorrectPinError,
    PinRequiredError,
    PukRequiredError,
    TimeoutException,
)
from gsmmodem.modem import GsmModem

from . import at, pdu, ussd
from .backoff import backoff_delay
from .exceptions import (
    CommandFailed,
    CommandTimeout,
    EncodeError,
    ModemConnectError,
    ModemError,
    ModemUnavailable,
    PduError,
    SendFailed,
)
from .gsm import PROMPT_CANCEL_WAIT, Modem
from .types import (
    BankEvent,
    DeliveryReport,
    InboundBatch,
    ModemConfig,
    ModemHealth,
    ModemInfo,
    ModemState,
    OutgoingSms,
    SendResult,
    StoredPdu,
)
from .ussd import UssdReply

log = structlog.get_logger("sim_bank.worker")

CTRL_Z = "\x1a"
ESC = "\x1b"
PROMPT_TIMEOUT = 5.0
USSD_TIMEOUT = 30.0
_USSD_TEXT = re.compile(r"[0-9A-Za-z*#+ ]{1,64}")
READ_MEMORIES = ("ME", "SM", "SR")  # never "MT": it is ME and SM again under other indexes
# Answers to AT+CPMS="<mem>" that say the modem has no such memory (3GPP TS 27.005 3.2.5,
# TS 27.007 9.2): operation not allowed / not supported, and "invalid parameter" -- the
# memory name is the command's only parameter. Only these drop a guessed memory. Anything
# else is about the moment, not the memory: SIM busy (+CMS 314, common just after boot;
# python-gsmmodem itself retries +CME 14 and 515), SIM not ready (310-313, vendor 512+),
# memory failure 320, memory full 322 (a full memory must be read above all), invalid
# index 321 (not about selecting), unknown 500, a plain ERROR, a timeout: the memory stays
# and is selected again at the next sweep.
NO_SUCH_MEMORY = frozenset(
    {
        ("CMS", 302),  # operation not allowed
        ("CMS", 303),  # operation not supported
        ("CMS", 304),  # invalid PDU mode parameter
        ("CMS", 305),  # invalid text mode parameter
        ("CME", 3),  # operation not allowed
        ("CME", 4),  # operation not supported
        ("CME", 50),  # incorrect parameters
    }
)

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
        prompt_cancel_wait: float = PROMPT_CANCEL_WAIT,
    ) -> None:
        """``prompt_cancel_wait``: seconds given a modem at each connect to answer the ESC that
        ends a stale SMS prompt (an emulator answers at once: tests pass a short one)."""
        self.config = config
        self._prompt_cancel_wait = prompt_cancel_wait
        self.id = config.id
        self._loop = loop
        self._on_event = on_event
        self._jobs: queue.PriorityQueue[tuple[int, int, _Job]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._modem: Modem | None = None
        self._lost: str | None = None  # set from the reader thread when the port fails
        self._pending: dict[tuple[str, int], str] = {}  # handed to the gateway, not yet deleted
        self._deferred: list[tuple[int, int, _Job]] = []  # storage jobs waiting for a reconnect
        self._sweep_wanted: set[str] = set()
        self._sweep_lock = threading.Lock()
        self._memories: tuple[str, ...] = ()
        self._memories_guessed = False  # the modem did not say which memories it has
        self._unusable: dict[str, str] = {}  # memory -> why selecting it failed last (warned once)
        self._mem1: str | None = None
        self._cds_header = False  # a +CDS came without its PDU line; the next line is it
        self._cds_lock = threading.Lock()  # touched by the reader thread and this worker's thread
        self._timeouts = 0
        self._next_sweep = 0.0
        self._next_poll = 0.0
        self._ussd_replies: queue.Queue[str] = queue.Queue()
        self._state = "connecting"
        self.info = ModemInfo()
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
        return await self._submit(_P_SEND, lambda: self._send(sms), "send")  # type: ignore[no-any-return]

    async def delete(self, memory: str, indexes: list[int]) -> None:
        """Delete messages the gateway has committed. Waits for a reconnect if the modem is down."""
        await self._submit(_P_STORAGE, lambda: self._delete(memory, indexes), "delete")

    def release(self, memory: str, indexes: list[int]) -> None:
        """The gateway could not store these: forget them so the next sweep hands them over again."""

        def forget() -> None:
            for i in indexes:
                self._pending.pop((memory, i), None)

        self._put(_P_STORAGE, _Job(forget, None, "release"))

    def request_sweep(self, memory: str | None = None) -> None:
        """Thread-safe: list the SIM soon (one memory, or all)."""
        with self._sweep_lock:
            first = not self._sweep_wanted
            self._sweep_wanted.update([memory] if memory else self._memories or READ_MEMORIES)
        if first:
            self._put(_P_STORAGE, _Job(self._sweep_requested, None, "sweep"))

    async def ussd(self, code: str, *, cancel: bool = False, timeout: float = USSD_TIMEOUT) -> UssdReply:
        """Dial ``code`` (``*140#``), or answer the open session's menu with it, and wait for
        the network's answer. ``cancel`` ends an open session."""
        if not cancel and not _USSD_TEXT.fullmatch(code):
            raise ModemError(self.id, f"{code!r} is not a USSD string (digits, letters, * # +, at most 64)")
        if not self.ready:
            raise ModemUnavailable(self.id, f"modem is {self._state}")
        return await self._submit(  # type: ignore[no-any-return]
            _P_STORAGE, lambda: self._ussd(code, cancel, timeout), "command"
        )

    async def command(self, command: str, timeout: float | None = None) -> list[str]:
        """Run one AT command (doctor, USSD, diagnostics) and return its response lines."""
        if not self.ready:
            raise ModemUnavailable(self.id, f"modem is {self._state}")
        return await self._submit(  # type: ignore[no-any-return]
            _P_STORAGE, lambda: self._write(command, timeout=timeout), "command"
        )

    async def _submit(self, priority: int, fn: Callable[[], Any], kind: str) -> Any:
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._put(priority, _Job(fn, fut, kind))
        return await fut

    def _put(self, priority: int, job: _Job) -> None:
        self._jobs.put((priority, next(self._seq), job))

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
                if self._modem is None:
                    attempt = self._connect_or_wait(attempt)
                else:
                    self._serve_one()
            except Exception:  # this thread must never die silently
                log.exception("modem_worker_error", modem_id=self.id)
                self._drop("internal error (see the log)")
                time.sleep(1.0)
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
        if self._lost is not None or not self._reader_alive():
            self._jobs.put(item)  # run it after the reconnect (or reject it if it is a send)
            self._drop(self._lost or "reader thread died")
            return
        self._run_job(job)

    def _run_job(self, job: _Job) -> None:
        try:
            result = job.run()
        except ModemError as exc:
            self._resolve(job.future, exc=exc)
            if self._lost is not None or self._timeouts >= 2 or not self._reader_alive():
                self._drop(self._lost or exc.reason)
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

    # ------------------------------------------------------------ connection

    def _connect(self) -> None:
        self._set_state("connecting")
        self._lost = None
        self._timeouts = 0
        self._mem1 = None
        self._cds_header = False
        modem = Modem(self.config, self._on_urc, self._on_fatal, prompt_cancel_wait=self._prompt_cancel_wait)
        modem.on_line_noise = self._on_line_noise
        modem.timeout = 0.2  # pyserial read timeout of the reader thread: a bound on close() where cancel_read fails
        try:
            GsmModem.connect(modem, pin=self.config.pin)
            self._modem = modem
            self._after_connect()
        except (PinRequiredError, IncorrectPinError, PukRequiredError) as exc:
            self._close(modem)
            raise ModemConnectError(self.id, _pin_advice(exc, self.config.pin), permanent=True) from None
        except ModemError as exc:
            self._close(modem)
            raise ModemConnectError(self.id, exc.reason) from None
        except (serial.SerialException, OSError) as exc:
            self._close(modem)
            hint = " (held by another program: another gateway, ModemManager, minicom?)" if "lock" in str(exc) else ""
            raise ModemConnectError(self.id, f"cannot open {self.config.port}: {exc}{hint}") from None
        except TimeoutException:
            self._close(modem)
            raise ModemConnectError(
                self.id,
                f"no answer on {self.config.port} at {self.config.baudrate} baud "
                "(wrong port or speed, modem still booting, or the port is held by ModemManager)",
            ) from None
        except CommandError as exc:
            self._close(modem)
            raise ModemConnectError(self.id, f"modem refused initialisation: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the library trips over answers it did not expect
            self._close(modem)
            raise ModemConnectError(self.id, f"unexpected answer during initialisation: {exc!r}") from None
        self._set_state("ready")

    def _after_connect(self) -> None:
        self._unusable.clear()
        self._memories, self._memories_guessed = self._readable_memories()
        self.info = self._read_info()
        with contextlib.suppress(CommandFailed):
            self._write("AT+CREG=1")  # registration changes arrive as +CREG: <stat>
        self._next_poll = time.monotonic() + self.config.health_interval
        self._emit(self._health_event())
        # sweep everything now: messages that arrived while we were away are on the SIM
        with self._sweep_lock:
            self._sweep_wanted.clear()
        self.request_sweep()

    def _readable_memories(self) -> tuple[tuple[str, ...], bool]:
        """Every memory to sweep: those the modem reads and deletes from (the first
        parameter of ``AT+CPMS=?``, found by its prefix wherever it lies in the answer), and
        whether that is a guess -- a modem that will not say gets every memory we know; the
        question is asked again at every sweep until it answers (``_sweep_requested``), and a
        memory the modem says it does not have is dropped meanwhile (``_sweep``)."""
        memories = self._ask_memories()
        if memories:
            return memories, False
        log.warning("sim_memories_unknown", modem_id=self.id)
        return READ_MEMORIES, True

    def _ask_memories(self) -> tuple[str, ...]:
        """The memories ``AT+CPMS=?`` names for reading; () when it failed or its line was lost."""
        try:
            support = at.parse_cpms_support(self._write("AT+CPMS=?"))
        except CommandFailed:
            support = None
        readable = support[0] if support else ()
        return tuple(m for m in READ_MEMORIES if m in readable)

    def _read_info(self) -> ModemInfo:
        def ask(cmd: str) -> list[str]:
            try:
                return self._write(cmd)
            except CommandFailed:
                return []

        return ModemInfo(
            manufacturer=at.info_value(ask("AT+CGMI"), "AT+CGMI"),
            model=at.info_value(ask("AT+CGMM"), "AT+CGMM"),
            imei=at.info_value(ask("AT+CGSN"), "AT+CGSN"),
            operator=at.parse_cops(ask("AT+COPS?")),
            signal=at.parse_csq(ask("AT+CSQ")),
            registration=at.parse_creg(ask("AT+CREG?")),
            memories=self._memories,
        )

    def _drop(self, reason: str) -> None:
        log.warning("modem_lost", modem_id=self.id, reason=reason)
        self._close()
        self._set_state("down", reason, 0.0)

    def _close(self, modem: Modem | None = None) -> None:
        modem = modem or self._modem
        self._modem = None
        if modem is None:
            return
        modem.shut()

    def _reader_alive(self) -> bool:
        m = self._modem
        return m is not None and m.alive and m.rxThread.is_alive()

    # ------------------------------------------------------------ reader thread callbacks

    def _on_fatal(self, exc: Any) -> None:
        self._lost = f"serial port failed: {exc}"
        self._put(_P_STORAGE, _Job(lambda: None, None, "wake"))

    def _on_line_noise(self) -> None:
        self.line_noise += 1
        log.warning("modem_line_noise", modem_id=self.id, count=self.line_noise)
        self.request_sweep()  # the garbled line may have been a +CMTI

    def _on_urc(self, lines: list[str]) -> None:
        """Runs on the library's reader thread: only parse and queue, never block."""
        try:
            self._handle_urcs(lines)
        except Exception:
            log.exception("modem_urc_failed", modem_id=self.id)

    def _handle_urcs(self, lines: list[str]) -> None:
        """Act on result codes, from a notification or from a command's response. A ``+CDS``
        header whose PDU line did not come with it is joined with that line when it comes
        (notes #3) -- wherever it lands, as a notification or inside the next response. An
        empty call (the library reports notifications with no lines) changes nothing: it must
        not forget a header still waiting for its PDU."""
        if not lines:
            return
        with self._cds_lock:
            if self._cds_header and lines and at.is_hex_pdu(lines[0].strip()):
                lines = ["+CDS: 0", *lines]
            self._cds_header = bool(lines) and lines[-1].startswith("+CDS:")
        for urc in at.parse_urcs(lines):
            if urc.kind == "sms" or urc.kind == "report":
                self.request_sweep(urc.memory)
            elif urc.kind == "report_pdu" and urc.pdu:
                self._status_report(urc.pdu)
            elif urc.kind == "report_pdu" and not self._cds_header:
                self.request_sweep("SR")  # a report announced without its PDU: look in the report memory
            elif urc.kind == "ussd":
                self._ussd_replies.put(urc.line)
            elif urc.kind == "creg" and urc.index is not None:
                self._emit(ModemHealth(self.id, None, urc.index))
            elif urc.kind == "other" and urc.line not in ("OK", "> ") and not at.is_hex_pdu(urc.line):
                log.debug("modem_unsolicited", modem_id=self.id, line=urc.line)

    def _status_report(self, hexpdu: str) -> None:
        try:
            report = pdu.decode(hexpdu)
        except PduError as exc:
            log.warning("status_report_undecodable", modem_id=self.id, error=str(exc), pdu=hexpdu)
            return
        if isinstance(report, pdu.StatusReport):
            self._emit(DeliveryReport(self.id, report, hexpdu))

    # ------------------------------------------------------------ AT plumbing (worker thread)

    def _write(self, command: str, *, timeout: float | None = None, **kw: Any) -> list[str]:
        """One command through the library, errors translated, stray URCs acted on."""
        modem = self._modem
        if modem is None:
            raise ModemUnavailable(self.id, "not connected")
        try:
            lines: list[str] = modem.write(command, timeout=timeout or self.config.command_timeout, **kw)
        except TimeoutException as exc:
            self._timeouts += 1
            if exc.data:
                self._scan_response(list(exc.data), command)
            raise CommandTimeout(self.id, f"{_short(command)}: no answer") from None
        except (CmsError, CmeError) as exc:
            self._timeouts = 0
            raise CommandFailed(self.id, _short(command), exc.type, exc.code) from None
        except CommandError:
            self._timeouts = 0
            raise CommandFailed(self.id, _short(command), None, None) from None
        except (serial.SerialException, OSError) as exc:
            self._lost = f"serial port failed: {exc}"
            raise ModemUnavailable(self.id, self._lost) from None
        self._timeouts = 0
        self._scan_response(lines, command)
        return lines

    def _scan_response(self, lines: list[str], command: str) -> None:
        """A URC that arrived while a command waited is part of its response (notes #2):
        every one is acted on, wherever it landed, recognised by its prefix."""
        if self._cds_header and lines and at.is_hex_pdu(lines[0].strip()):
            self._handle_urcs(lines[:1])  # the PDU of a +CDS that came just before this command
            lines = lines[1:]
        urcs = at.unsolicited(lines, command)
        if urcs:
            self._handle_urcs(urcs)

    def _health_event(self) -> ModemHealth:
        storage = None
        with contextlib.suppress(CommandFailed):
            storage = at.parse_cpms(self._write("AT+CPMS?"))
        return ModemHealth(
            self.id,
            self.info.signal,
            self.info.registration,
            self.info.operator,
            storage[0] if storage else None,
            storage[1] if storage else None,
        )

    def _poll_health(self) -> None:
        """Signal, registration, operator and SIM storage, for the bank's health checks."""

        def ask(cmd: str) -> list[str]:
            try:
                return self._write(cmd)
            except CommandFailed:
                return []

        self.info = dataclasses.replace(
            self.info,
            signal=at.parse_csq(ask("AT+CSQ")),
            registration=at.parse_creg(ask("AT+CREG?")),
            operator=at.parse_cops(ask("AT+COPS?")) or self.info.operator,
        )
        self._emit(self._health_event())

    def _use_memory(self, memory: str) -> None:
        if self._mem1 != memory:
            self._write(f'AT+CPMS="{memory}"')
            self._mem1 = memory

    # ------------------------------------------------------------ jobs (worker thread)

    def _sweep_requested(self) -> None:
        with self._sweep_lock:
            wanted = set(self._sweep_wanted)
            self._sweep_wanted.clear()
        if self._memories_guessed:
            known = self._ask_memories()  # its answer was refused or lost at connect: ask again
            if known:
                log.info("sim_memories_known", modem_id=self.id, memories=known)
                wanted -= set(READ_MEMORIES) - set(known)  # a guess the modem now denies
                self._memories, self._memories_guessed = known, False
                self.info = dataclasses.replace(self.info, memories=known)
                self._unusable.clear()
        if "MT" in wanted and "MT" not in self._memories:
            wanted = (wanted - {"MT"}) | set(self._memories)  # MT is ME and SM together
        # the memories we know first, in order; then any other one a +CMTI named
        memories = [m for m in self._memories if m in wanted] + sorted(wanted - set(self._memories))
        self._sweep(memories)

    def _sweep(self, memories: list[str]) -> None:
        """List each memory; hand over every message not yet with the gateway -- also when a
        later memory fails (what was found must never be left marked as handed over)."""
        self._next_sweep = time.monotonic() + self.config.sweep_interval
        found: list[StoredPdu] = []
        try:
            for memory in memories:
                try:
                    self._use_memory(memory)
                except CommandFailed as exc:
                    self._memory_refused(memory, exc)
                    continue
                if self._unusable.pop(memory, None) is not None:
                    log.info("sim_memory_usable_again", modem_id=self.id, memory=memory)
                try:
                    lines = self._write("AT+CMGL=4")
                except CommandFailed as exc:  # SIM busy, memory unusable: the other memories still count
                    log.warning("sim_list_failed", modem_id=self.id, memory=memory, error=exc.reason)
                    continue
                entries, stray = at.parse_cmgl(lines)
                self._handle_urcs(stray)
                for entry in entries:
                    key = (memory, entry.index)
                    if self._pending.get(key) == entry.pdu:
                        continue  # already with the gateway, waiting for its delete
                    self._pending[key] = entry.pdu
                    found.append(_decode_stored(memory, entry))
        finally:
            if found:
                self._emit(InboundBatch(self.id, tuple(found)))

    def _memory_refused(self, memory: str, exc: CommandFailed) -> None:
        """The modem would not select ``memory``. Dropped only from a guessed list and only when
        the answer says the modem has no such memory (``NO_SUCH_MEMORY``); any other refusal
        (SIM busy just after boot...) is retried at the next sweep -- dropping SM for a busy
        answer would leave its messages unread until a reconnect. A timeout is not caught
        here: it ends the sweep and counts towards a reconnect, the memory kept."""
        if self._memories_guessed and memory in self._memories and (exc.kind, exc.code) in NO_SUCH_MEMORY:
            self._memories = tuple(m for m in self._memories if m != memory)
            self.info = dataclasses.replace(self.info, memories=self._memories)
            log.info("sim_memory_absent", modem_id=self.id, memory=memory, error=exc.reason)
            return
        if self._unusable.get(memory) == exc.reason:  # said once: no warning on every sweep
            log.debug("sim_list_failed", modem_id=self.id, memory=memory, error=exc.reason)
            return
        self._unusable[memory] = exc.reason
        log.warning("sim_list_failed", modem_id=self.id, memory=memory, error=exc.reason, retry="next sweep")

    def _delete(self, memory: str, indexes: list[int]) -> None:
        modem = self._modem
        if modem is None:
            raise ModemUnavailable(self.id, "not connected")
        with modem._txLock:
            self._use_memory(memory)
            for index in indexes:
                self._write(f"AT+CMGD={index}")
                self._pending.pop((memory, index), None)

    def _send(self, sms: OutgoingSms) -> SendResult:
        """Send the parts not yet on air. Any failure says how many parts went out and
        whether the last one might have (``unknown``), so nothing is resent blindly."""
        pdus = pdu.encode_submit(sms.to, sms.text, concat_ref=sms.concat_ref, status_report=sms.status_report)
        modem = self._modem
        if modem is None:
            raise ModemUnavailable(self.id, "not connected")
        refs: list[int] = []
        on_air = sms.skip_parts
        written = False  # the current part's PDU went to the modem: its fate is unknown until +CMGS

        def failed(reason: str, code: int | None = None) -> SendFailed:
            return SendFailed(self.id, reason, cms_code=code, on_air=on_air, unknown=written, references=tuple(refs))

        with modem._txLock:  # nothing else may land between the prompt and the PDU
            try:
                for part in pdus[sms.skip_parts :]:
                    try:
                        self._write(f"AT+CMGS={part.tpdu_length}", timeout=PROMPT_TIMEOUT, expectedResponseTermSeq="> ")
                        written = True
                        reply = self._write(part.hex, timeout=self.config.send_timeout, writeTerm=CTRL_Z)
                    except CommandTimeout:
                        self._cancel_prompt()
                        stage = (
                            f"no answer after part {part.part} of {part.parts} was written"
                            if written
                            else "no > prompt"
                        )
                        raise failed(stage) from None
                    except CommandFailed as exc:
                        written = False  # the modem refused it: not on air
                        raise failed(exc.reason, exc.code) from None
                    mr = at.parse_cmgs(reply)
                    if mr is None:
                        raise failed("modem answered without +CMGS")
                    refs.append(mr)
                    on_air += 1
                    written = False
            except SendFailed:
                raise
            except ModemError as exc:  # the port went away mid-message
                if on_air == sms.skip_parts and not written:
                    raise  # nothing went out: the message may simply go elsewhere
                raise failed(exc.reason) from None
        return SendResult(self.id, tuple(refs), len(pdus))

    def _ussd(self, code: str, cancel: bool, timeout: float) -> UssdReply:
        while not self._ussd_replies.empty():  # an answer nobody waited for
            self._ussd_replies.get_nowait()
        if cancel:
            self._write("AT+CUSD=2")
            return UssdReply(2, None, None)
        command = f'AT+CUSD=1,"{code}",15'
        lines = self._write(command, timeout=timeout)
        # some modems answer before their OK: the +CUSD result (its text may span lines), found
        # by its prefix among whatever else landed in the answer
        early = [u.line for u in at.parse_urcs(at.answer_lines(lines, command)) if u.kind == "ussd"]
        if early:
            raw = early[0]
        else:
            try:
                raw = self._ussd_replies.get(timeout=timeout)
            except queue.Empty:
                with contextlib.suppress(ModemError):  # end the session: a late answer must not
                    self._write("AT+CUSD=2")  # become the answer to the next request
                raise CommandTimeout(self.id, f"no USSD answer to {code} in {timeout:.0f} s") from None
        reply = ussd.parse_cusd(raw)
        if reply is None:
            raise ModemError(self.id, f"unreadable USSD answer: {raw[:80]!r}")
        return reply

    def _cancel_prompt(self) -> None:
        """ESC ends a pending ``> `` prompt, so the next command is not taken as PDU text."""
        modem = self._modem
        if modem is not None:
            with contextlib.suppress(Exception):
                modem.write(ESC, waitForResponse=False, writeTerm="")


def _decode_stored(memory: str, entry: at.Listed) -> StoredPdu:
    try:
        decoded = pdu.decode(entry.pdu)
    except PduError as exc:
        return StoredPdu(memory, entry.index, entry.status, entry.pdu, None, str(exc))
    return StoredPdu(memory, entry.index, entry.status, entry.pdu, decoded)


def _short(command: str) -> str:
    """A command for messages and logs: never a PDU (it holds a customer's number and text)."""
    if at.is_hex_pdu(command):
        return f"PDU of {len(command) // 2} octets"
    return command if len(command) <= 40 else command[:12] + "..."


def _pin_advice(exc: Exception, pin: str | None) -> str:
    if isinstance(exc, PukRequiredError):
        return "SIM is locked and needs its PUK: unlock it in a phone, then restart"
    if isinstance(exc, IncorrectPinError):
        return "SIM rejected the PIN in [[modems]] pin (not retried: three wrong PINs lock the SIM)"
    if pin is None:
        return 'SIM needs a PIN: set pin = "...." for this modem in [[modems]]'
    return "SIM asks for a PIN again after it was given"
