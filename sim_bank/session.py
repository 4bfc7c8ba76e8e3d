"""One connection to one modem: the AT conversation, on the worker's thread only.

:meth:`ModemSession.open` runs python-gsmmodem's ``connect()`` and says in a
:class:`ModemConnectError` what to change when it fails; :meth:`~ModemSession.write`
runs one command with the library's errors translated and stray URCs acted on;
the rest are the conversations the worker's jobs need: what the modem is, its
health, an SMS through the ``> `` prompt, a USSD request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
from collections.abc import Callable
from typing import Any

import serial
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

from . import at, pdu, ports, ussd
from .exceptions import (
    CommandFailed,
    CommandTimeout,
    ModemConnectError,
    ModemError,
    ModemUnavailable,
    SendFailed,
)
from .gsm import Modem
from .types import ModemConfig, ModemHealth, ModemInfo, OutgoingSms, SendResult
from .urcs import UrcHandler
from .ussd import UssdReply

CTRL_Z = "\x1a"
ESC = "\x1b"
PROMPT_TIMEOUT = 5.0  # seconds for the "> " prompt after AT+CMGS


class ModemSession:
    """An open modem. ``lost`` says why the port failed (set from the reader thread too)."""

    def __init__(self, modem: Modem, config: ModemConfig, urcs: UrcHandler) -> None:
        self.modem = modem
        self.config = config
        self.id = config.id
        self.urcs = urcs
        self.lost: str | None = None
        self.timeouts = 0  # commands in a row that got no answer
        self._mem1: str | None = None  # the memory AT+CPMS last selected

    @classmethod
    def open(
        cls,
        config: ModemConfig,
        urcs: UrcHandler,
        *,
        on_lost: Callable[[], None],
        on_line_noise: Callable[[], None],
        then: Callable[[ModemSession], None],
    ) -> ModemSession:
        """Connect and run ``then`` (the worker's first questions); on any failure the port is
        closed again and :class:`ModemConnectError` says what went wrong."""
        session: ModemSession | None = None

        def port_failed(exc: Any) -> None:
            if session is not None:
                session.lost = f"serial port failed: {exc}"
            on_lost()

        modem = Modem(config, urcs.notification, port_failed)
        modem.on_line_noise = on_line_noise
        modem.timeout = 0.2  # pyserial read timeout of the reader thread: a bound on close() where cancel_read fails
        session = cls(modem, config, urcs)
        try:
            GsmModem.connect(modem, pin=config.pin)
            then(session)
        except (PinRequiredError, IncorrectPinError, PukRequiredError) as exc:
            session.close()
            raise ModemConnectError(config.id, _pin_advice(exc, config.pin), permanent=True) from None
        except ModemError as exc:
            session.close()
            raise ModemConnectError(config.id, exc.reason) from None
        except (serial.SerialException, OSError) as exc:
            session.close()
            hint = " (held by another program: another gateway, ModemManager, minicom?)" if "lock" in str(exc) else ""
            raise ModemConnectError(config.id, f"cannot open {config.port}: {exc}{hint}") from None
        except TimeoutException:
            session.close()
            raise ModemConnectError(config.id, ports.no_answer_hint(config.port, config.baudrate)) from None
        except CommandError as exc:
            session.close()
            raise ModemConnectError(config.id, f"modem refused initialisation: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the library trips over answers it did not expect
            session.close()
            raise ModemConnectError(config.id, f"unexpected answer during initialisation: {exc!r}") from None
        return session

    def close(self) -> None:
        self.modem.shut()

    def broken(self) -> str | None:
        """Why this connection cannot be used any more, or None while it can."""
        if self.lost is not None:
            return self.lost
        m = self.modem
        if not (m.alive and m.rxThread.is_alive()):
            return "reader thread died"
        return None

    # ------------------------------------------------------------ one command

    def write(self, command: str, *, timeout: float | None = None, **kw: Any) -> list[str]:
        """One command through the library, errors translated, stray URCs acted on."""
        try:
            lines: list[str] = self.modem.write(command, timeout=timeout or self.config.command_timeout, **kw)
        except TimeoutException as exc:
            self.timeouts += 1
            if exc.data:
                self.urcs.scan_response(list(exc.data), command)
            raise CommandTimeout(self.id, f"{_short(command)}: no answer") from None
        except (CmsError, CmeError) as exc:
            self.timeouts = 0
            raise CommandFailed(self.id, _short(command), exc.type, exc.code) from None
        except CommandError:
            self.timeouts = 0
            raise CommandFailed(self.id, _short(command), None, None) from None
        except (serial.SerialException, OSError) as exc:
            self.lost = f"serial port failed: {exc}"
            raise ModemUnavailable(self.id, self.lost) from None
        self.timeouts = 0
        self.urcs.scan_response(lines, command)
        return lines

    def ask(self, command: str) -> list[str]:
        """A question whose refusal only means "unknown": [] instead of an error."""
        try:
            return self.write(command)
        except CommandFailed:
            return []

    def use_memory(self, memory: str) -> None:
        """Select ``memory`` for reading and deleting (``AT+CPMS``), unless it already is."""
        if self._mem1 != memory:
            self.write(f'AT+CPMS="{memory}"')
            self._mem1 = memory

    # ------------------------------------------------------------ what the modem is, and its health

    def read_info(self, memories: tuple[str, ...]) -> ModemInfo:
        return ModemInfo(
            manufacturer=at.info_value(self.ask("AT+CGMI"), "AT+CGMI"),
            model=at.info_value(self.ask("AT+CGMM"), "AT+CGMM"),
            imei=at.info_value(self.ask("AT+CGSN"), "AT+CGSN"),
            operator=at.parse_cops(self.ask("AT+COPS?")),
            signal=at.parse_csq(self.ask("AT+CSQ")),
            registration=at.parse_creg(self.ask("AT+CREG?")),
            memories=memories,
        )

    def poll_radio(self, info: ModemInfo) -> ModemInfo:
        """Signal, registration and operator, asked again. Silence ends this connection: between
        jobs a modem answers AT+CSQ at once, so no answer is a hung modem or a half-open network
        link (no RST: a stopped ser2net, a pool gone dark): noticed at most health_interval + 2 x
        command_timeout after it fell silent (80 s at the defaults, within two intervals)."""
        try:
            signal = at.parse_csq(self.ask("AT+CSQ"))
        except CommandTimeout:
            self.lost = (
                f"no answer to the health poll in {self.config.command_timeout:g} s "
                "(modem hung, or the link is half-open)"
            )
            raise
        return dataclasses.replace(
            info,
            signal=signal,
            registration=at.parse_creg(self.ask("AT+CREG?")),
            operator=at.parse_cops(self.ask("AT+COPS?")) or info.operator,
        )

    def health(self, info: ModemInfo) -> ModemHealth:
        """``info``'s radio, with the SIM storage asked now."""
        storage = None
        with contextlib.suppress(CommandFailed):
            storage = at.parse_cpms(self.write("AT+CPMS?"))
        return ModemHealth(
            self.id,
            info.signal,
            info.registration,
            info.operator,
            storage[0] if storage else None,
            storage[1] if storage else None,
        )

    # ------------------------------------------------------------ conversations of several commands

    def send(self, sms: OutgoingSms) -> SendResult:
        """Send the parts not yet on air. Any failure says how many parts went out and
        whether the last one might have (``unknown``), so nothing is resent blindly."""
        pdus = pdu.encode_submit(sms.to, sms.text, concat_ref=sms.concat_ref, status_report=sms.status_report)
        refs: list[int] = []
        on_air = sms.skip_parts
        written = False  # the current part's PDU went to the modem: its fate is unknown until +CMGS

        def failed(reason: str, code: int | None = None) -> SendFailed:
            return SendFailed(self.id, reason, cms_code=code, on_air=on_air, unknown=written, references=tuple(refs))

        with self.modem._txLock:  # nothing else may land between the prompt and the PDU
            try:
                for part in pdus[sms.skip_parts :]:
                    try:
                        self.write(f"AT+CMGS={part.tpdu_length}", timeout=PROMPT_TIMEOUT, expectedResponseTermSeq="> ")
                        written = True
                        reply = self.write(part.hex, timeout=self.config.send_timeout, writeTerm=CTRL_Z)
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

    def _cancel_prompt(self) -> None:
        """ESC ends a pending ``> `` prompt, so the next command is not taken as PDU text."""
        with contextlib.suppress(Exception):
            self.modem.write(ESC, waitForResponse=False, writeTerm="")

    def ussd(self, code: str, cancel: bool, timeout: float) -> UssdReply:
        """Dial ``code`` or answer the open session's menu with it; ``cancel`` ends the session."""
        self.urcs.drain_ussd()  # an answer nobody waited for
        if cancel:
            self.write("AT+CUSD=2")
            return UssdReply(2, None, None)
        command = f'AT+CUSD=1,"{code}",15'
        lines = self.write(command, timeout=timeout)
        # some modems answer before their OK: the +CUSD result (its text may span lines), found
        # by its prefix among whatever else landed in the answer
        early = [u.line for u in at.parse_urcs(at.answer_lines(lines, command)) if u.kind == "ussd"]
        if early:
            raw = early[0]
        else:
            try:
                raw = self.urcs.ussd_replies.get(timeout=timeout)
            except queue.Empty:
                with contextlib.suppress(ModemError):  # end the session: a late answer must not
                    self.write("AT+CUSD=2")  # become the answer to the next request
                raise CommandTimeout(self.id, f"no USSD answer to {code} in {timeout:.0f} s") from None
        reply = ussd.parse_cusd(raw)
        if reply is None:
            raise ModemError(self.id, f"unreadable USSD answer: {raw[:80]!r}")
        return reply


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
