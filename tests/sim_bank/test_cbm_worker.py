"""Cell broadcasts through the real worker: python-gsmmodem on a pty to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from sim_bank import cbm
from sim_bank.emulator import ModemEmulator
from sim_bank.types import CellBroadcast, ModemConfig, ModemState
from sim_bank.worker import ModemWorker
from tests.sim_bank.test_worker import Recorder, make_worker, until

ALERT = "هشدار: زلزله. از ساختمان‌ها دور بمانید و به فضای باز بروید."


@pytest.fixture
async def listening(tmp_path: Path) -> AsyncIterator[tuple[ModemEmulator, ModemWorker, Recorder]]:
    with ModemEmulator("m1", link=tmp_path / "m1") as emulator:
        rec = Recorder()
        worker = make_worker(ModemConfig("m1", emulator.port, cell_broadcast="4370-4399,919"), rec)
        worker.start()
        try:
            await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
            yield emulator, worker, rec
        finally:
            await worker.stop()


def _heard(rec: Recorder) -> list[CellBroadcast]:
    return [e for e in rec.events if isinstance(e, CellBroadcast)]


async def test_the_modem_is_subscribed_to_the_configured_channels(
    listening: tuple[ModemEmulator, ModemWorker, Recorder],
) -> None:
    emulator, _worker, _rec = listening
    assert 'AT+CSCB=0,"4370-4399,919",""' in emulator.commands
    assert emulator.commands.index("AT+CNMI=2,1,2,2,0") > emulator.commands.index("AT+CNMI=2,1,0,2")
    assert emulator.listening(4370) and emulator.listening(919) and not emulator.listening(4400)


async def test_a_two_page_ucs2_broadcast_arrives_as_one_message(
    listening: tuple[ModemEmulator, ModemWorker, Recorder],
) -> None:
    emulator, _worker, rec = listening
    assert emulator.inject_cbm(4370, cbm.serial_number(0, 12, 1), ALERT, "fa") == 2
    await until(lambda: len(_heard(rec)) == 1)
    (event,) = _heard(rec)
    assert event.modem_id == "m1"
    assert (event.message.text, event.message.language, event.message.pages) == (ALERT, "fa", 2)
    assert (event.message.message_id, event.message.message_code, event.message.update_number) == (4370, 12, 1)


async def test_a_malformed_page_is_logged_and_the_modem_goes_on(
    listening: tuple[ModemEmulator, ModemWorker, Recorder],
) -> None:
    emulator, worker, rec = listening
    with structlog.testing.capture_logs() as logs:
        emulator.inject_cbm_pdus(["00111112", "0011" + "1112" + "01" + "31" + "00" * 82, "NOTHEX"])
        emulator.inject_cbm(4371, 5, "Test alert", "en")
        await until(lambda: len(_heard(rec)) == 1)
    assert _heard(rec)[0].message.text == "Test alert"
    bad = [entry for entry in logs if entry["event"] == "cell_broadcast_undecodable"]
    # each bad page logged by its PDU (a page inside a sweep's answer may be read, and logged, twice)
    assert {entry["modem_id"] for entry in bad} == {"m1"}
    # each of the three bad pages logged: by its PDU, or as a +CBM header without a page when the
    # line after it came in another read and was no page (how the reads split is the pty's timing)
    assert len(bad) >= 3
    assert worker.ready
    emulator.inject_sms("+989121234567", "1 48213")
    await rec.wait_texts(1)


async def test_a_modem_without_cell_broadcast_still_serves(tmp_path: Path) -> None:
    with ModemEmulator("m1", link=tmp_path / "m1") as emulator:
        emulator.override('AT+CSCB=0,"4370-4399",""', ["ERROR"])
        rec = Recorder()
        worker = make_worker(ModemConfig("m1", emulator.port, cell_broadcast="4370-4399"), rec)
        with structlog.testing.capture_logs() as logs:
            worker.start()
            try:
                await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
                emulator.inject_sms("+989121234567", "1 48213")
                assert await rec.wait_texts(1) == ["1 48213"]
            finally:
                await worker.stop()
    assert [e["modem_id"] for e in logs if e["event"] == "cell_broadcast_unsupported"] == ["m1"]
    assert not emulator.listening(4370)


async def test_a_modem_not_asked_to_listen_hears_nothing(tmp_path: Path) -> None:
    with ModemEmulator("m1", link=tmp_path / "m1") as emulator:
        rec = Recorder()
        worker = make_worker(ModemConfig("m1", emulator.port), rec)
        worker.start()
        try:
            await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
            assert emulator.inject_cbm(4370, 1, "Test", "en") == 0
        finally:
            await worker.stop()
    assert not any(c.startswith("AT+CSCB") for c in emulator.commands)
