"""The database or the modems misbehave; the gateway waits, retries and loses nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from pathlib import Path

from gateway.config import SendConfig
from gateway.outbound.dispatcher import Dispatcher
from gateway.runtime import Runtime, SteppedClock
from gateway.store import STORE_ERRORS, Store
from sim_bank.types import OutgoingSms, SendResult
from tests.gateway.harness import Harness, eventually


class NeverFinishingBank:
    """One modem whose send is still on air (a real SMSC takes 2-10 s, up to send_timeout)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    def ready(self) -> list[str]:
        return ["m1"]

    async def send(self, modem_id: str, sms: OutgoingSms) -> SendResult:
        self.started.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class CountingStore(Store):
    claims = 0
    retry_lookups = 0

    async def claim(self, *a, **kw):  # type: ignore[no-untyped-def]
        CountingStore.claims += 1
        return await super().claim(*a, **kw)

    async def next_retry_at(self, *a, **kw):  # type: ignore[no-untyped-def]
        CountingStore.retry_lookups += 1
        return await super().next_retry_at(*a, **kw)


async def test_dispatcher_sleeps_while_every_modem_is_busy(tmp_path: Path) -> None:
    store = await CountingStore.open(tmp_path / "gw.db")
    await store.enqueue("+989121234567", "on air for a long time")
    retry = await store.enqueue("+989121234567", "retry is due")
    await asyncio.to_thread(
        _sql, tmp_path / "gw.db", f"UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00+00:00' WHERE id = {retry}"
    )
    bank = NeverFinishingBank()
    clock = SteppedClock()
    dispatcher = Dispatcher(store, bank, SendConfig(send_timeout=0.1), clock=clock)  # type: ignore[arg-type]
    runtime = Runtime(clock, retry_on=STORE_ERRORS)
    loop = runtime.add(dispatcher, dispatcher.intervals)
    runtime.start()
    await asyncio.wait_for(bank.started.wait(), 10)
    before, rounds = CountingStore.claims + CountingStore.retry_lookups, loop.rounds
    clock.advance(60.0)  # a minute passes and nothing wakes it
    await asyncio.sleep(0.05)
    assert CountingStore.claims + CountingStore.retry_lookups - before <= 2  # waits to be woken, does not poll
    assert loop.rounds - rounds <= 2
    await asyncio.wait_for(runtime.stop(), 10)  # the send still on air is given up at send_timeout
    await store.close()


def _sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(statement)
    conn.commit()
    conn.close()


def _hold_write_lock(db: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Another process -- a backup, an operator's sqlite3 shell -- holds the write lock."""

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


async def test_database_held_by_another_process_delays_but_loses_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.config = dataclasses.replace(h.config, storage=dataclasses.replace(h.config.storage, busy_timeout=0.2))
    try:
        await h.start()
        held = threading.Event()
        locker = _hold_write_lock(h.database, 1.5, held)
        await asyncio.to_thread(held.wait)
        h.emu("m1").inject_sms("+989121234567", "1 48213")  # arrives while nothing can be written
        await asyncio.sleep(0.8)
        assert len(h.emu("m1").stored()) == 1  # the commit failed, so the SIM keeps it
        await asyncio.to_thread(locker.join)
        reply = await h.reply_to("+989121234567")  # the next sweep stores, routes and replies
        assert "ثبت شد" in reply.text
        await eventually(lambda: h.emu("m1").stored() == {})
        assert len(await h.store.tickets()) == 1
        assert len(h.emu("m1").sent) == 1
        assert h.daemon is not None and all(h.daemon.runtime.alive().values())  # nothing died
    finally:
        await h.stop()
        h.close()


async def test_claim_and_retry_queries_read_their_index_without_sorting(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "gw.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "gw.db")
    claim = conn.execute(
        """EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE status = 'queued'
           AND (next_attempt_at IS NULL OR next_attempt_at <= '2026') ORDER BY priority, id LIMIT 200"""
    ).fetchall()
    retry = conn.execute(
        """EXPLAIN QUERY PLAN SELECT MIN(next_attempt_at) FROM outbox
           WHERE status = 'queued' AND next_attempt_at > '2026'"""
    ).fetchall()
    assert "outbox_queue" in str(claim) and "TEMP B-TREE" not in str(claim)
    assert "outbox_retry" in str(retry)


async def test_a_modem_left_at_the_sms_prompt_by_a_killed_gateway_is_taken_back(harness: Harness) -> None:
    """Found by the crash harness: a gateway killed between AT+CMGS and its PDU leaves the
    modem at the "> " prompt, where every AT command is read as PDU text and never answered."""
    import serial

    def leave_at_prompt() -> bytes:
        with serial.Serial(str(harness.emu("m1").link), 115200, timeout=2) as port:
            port.write(b"AT+CMGS=20\r")
            return bytes(port.read_until(b"> "))

    assert (await asyncio.to_thread(leave_at_prompt)).endswith(b"> ")
    await harness.start()  # both modems ready, m1 included
    harness.emu("m1").inject_sms("+989121110077", "1 48213")
    reply = await harness.reply_to("+989121110077", timeout=15)
    assert "ثبت شد" in reply.text
