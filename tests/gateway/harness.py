"""A real daemon on emulated modems: real python-gsmmodem, real ptys, a real SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from gateway.config import Config, SimPolicy, SiteConfig
from gateway.conversation.catalogue import Catalogue
from gateway.daemon import Daemon, bank_for
from gateway.dev.events import EventLog
from gateway.runtime import Clock, Intervals, SteppedClock
from gateway.store import Store
from sim_bank.emulator import ModemEmulator, SentMessage
from sim_bank.types import ModemConfig

TOKEN, SECRET = "t0ken-123", "s3cret-456"  # the reference CRM's bearer token and signing secret in tests
STOP_TIMEOUT = 60.0  # seconds: the daemon bounds each of its own stop steps well inside this


class Harness:
    def __init__(self, tmp_path: Path, count: int = 2, catalogue: Catalogue | None = None) -> None:
        self.tmp_path = tmp_path
        self.emulators = [
            ModemEmulator(f"m{i}", link=tmp_path / f"m{i}", own_number=f"+9891200000{i:02d}").start()
            for i in range(1, count + 1)
        ]
        self.database = tmp_path / "gateway.db"
        modems = tuple(
            ModemConfig(
                e.modem_id,
                str(e.link),
                own_number=e.own_number,
                sweep_interval=0.3,
                reconnect_max=0.5,
                send_timeout=3.0,
                health_interval=0.5,
                prompt_cancel_wait=0.02,  # the emulator answers at once
            )
            for e in self.emulators
        )
        site = Config(site=SiteConfig(id="12", language="fa")).with_database(self.database)
        self.config = site.with_modems(modems, per_minute=1000)
        self.catalogue = catalogue
        self.clock = SteppedClock()  # the daemon's clock: tests move it instead of waiting out an interval
        self.daemon: Daemon | None = None
        self.events = EventLog()

    def emu(self, modem_id: str = "m1") -> ModemEmulator:
        return next(e for e in self.emulators if e.modem_id == modem_id)

    def configure(self, modems: dict[str, object] | None = None, **sections: object) -> Config:
        """This harness's config with [[modems]] settings (the modem's, as ``pin``, and its SIM's
        policy, as ``per_minute``) on every modem, and whole sections replaced."""
        config = self.config
        if modems:
            policy = {f.name for f in dataclasses.fields(SimPolicy)}
            reach = {k: v for k, v in modems.items() if k not in policy}
            config = config.with_modems(
                tuple(dataclasses.replace(m, **reach) for m in config.modems),  # type: ignore[arg-type]
                **{k: v for k, v in modems.items() if k in policy},
            )
        self.config = dataclasses.replace(config, **sections)  # type: ignore[arg-type]
        return self.config

    async def start(
        self,
        config: Config | None = None,
        expect_ready: set[str] | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        intervals: Mapping[str, Intervals] | None = None,
    ) -> Daemon:
        """Start a daemon on this harness's modems and :attr:`clock` (or ``clock``), with
        ``intervals`` instead of some services' own; returns once the modems are ready."""
        self.events = EventLog()
        config = config or self.config
        expected = expect_ready if expect_ready is not None else {m.id for m in config.modems}
        if isinstance(clock, SteppedClock):
            self.clock = clock
        self.daemon = daemon = Daemon(
            config,
            bank_for(config),
            catalogue=self.catalogue,
            observer=self.events,
            clock=clock if clock is not None else self.clock,
            intervals=intervals,
        )
        await daemon.start()
        await eventually(lambda: expected <= set(daemon.bank.ready()))
        return daemon

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the daemon, bounded: a stop that hangs fails the test instead of the suite."""
        if self.daemon is not None:
            daemon, self.daemon = self.daemon, None
            await asyncio.wait_for(daemon.stop(), timeout)

    async def rounds(self, service: str, count: int = 2) -> None:
        """Let ``service`` (a runtime loop's name) run ``count`` more rounds, moving :attr:`clock`
        on by its idle interval each time instead of waiting that interval out (and waking it,
        for a service that waits to be woken). Two rounds or more: one began after this call."""
        assert self.daemon is not None
        loop = self.daemon.runtime.loops[service]
        for _ in range(count):
            target = loop.rounds + 1
            self.clock.advance(loop.intervals.idle or 0.0)
            loop.wake()
            await eventually(lambda n=target: loop.rounds >= n)  # type: ignore[misc]

    @property
    def store(self) -> Store:
        assert self.daemon is not None and self.daemon.store is not None
        return self.daemon.store

    async def reply_to(self, number: str, modem: str | None = None, timeout: float = 10.0) -> SentMessage:
        """The first message sent to ``number``, once all its parts are on air."""

        def found() -> SentMessage | None:
            for e in self.emulators:
                if modem not in (None, e.modem_id):
                    continue
                pdus = [p for p in e.sent_pdus if p.number == number]  # one look: parts joined from it
                if not pdus:
                    continue
                first = pdus[0]
                if first.concat is None:
                    return SentMessage(number, first.text, 1, (first.reference,))
                ref, total = first.concat[0], first.concat[1]
                seq = {p.concat[2]: p for p in pdus if p.concat is not None and p.concat[:2] == (ref, total)}
                parts = [seq[i] for i in sorted(seq)]
                if len(parts) < total:
                    return None  # part of it is still to go
                return SentMessage(number, "".join(p.text for p in parts), total, tuple(p.reference for p in parts))
            return None

        await eventually(lambda: found() is not None, timeout)
        result = found()
        assert result is not None
        return result

    async def sql(self, statement: str) -> list[tuple[object, ...]]:
        """Look at (or sabotage) the database the way an operator with sqlite3 would -- from
        another thread: a blocking call on the loop would stall the daemon mid-transaction."""

        return await asyncio.to_thread(sql_file, self.database, statement)

    def close(self) -> None:
        for e in self.emulators:
            e.stop()


async def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` (or the coroutine it returns) holds: a wait with a
    deadline, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


def sql_file(database: Path, statement: str) -> list[tuple[object, ...]]:
    """One statement on the database file, committed, as an operator with sqlite3 would run it."""
    conn = sqlite3.connect(database)
    try:
        rows = conn.execute(statement).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()
