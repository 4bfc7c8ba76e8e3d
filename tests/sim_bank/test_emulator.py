"""The emulator is only useful if real AT clients accept it as a modem."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from gsmmodem.modem import GsmModem

from sim_bank.emulator import ModemEmulator


def _connect(emu: ModemEmulator) -> GsmModem:
    modem = GsmModem(emu.port, 115200)
    modem.connect()
    return modem


def _close(modem: GsmModem) -> None:
    """The library's ``close()``, without waiting out its reader's 1 s read timeout."""
    _wait_for_library_threads()
    modem.alive = False
    modem.serial.cancel_read()  # the reader wakes now, sees alive False and ends
    modem.close()


def test_unmodified_python_gsmmodem_connects_and_reads_signal(emulator: ModemEmulator) -> None:
    modem = _connect(emulator)
    try:
        assert modem.signalStrength == 20
        assert modem.networkName == "Emu Mobile"
        assert modem.smsc == "+989350001000"
        # the documented init sequence reached the emulator in order
        assert emulator.commands[:3] == ["ATZ", "ATE0", "AT+CFUN?"]
        assert "AT+CNMI=2,1,0,2" in emulator.commands
    finally:
        _close(modem)


def test_unmodified_library_sends_through_the_prompt(emulator: ModemEmulator) -> None:
    modem = _connect(emulator)
    try:
        modem.sendSms("+989121234567", "hello")
    finally:
        _close(modem)
    assert [(m.number, m.text) for m in emulator.sent] == [("+989121234567", "hello")]


def test_the_library_alone_loses_messages_of_a_cmti_burst(emulator: ModemEmulator) -> None:
    """Why sim_bank sweeps: with three +CMTI in one burst the library reads one SMS."""
    got: list[str] = []
    done = threading.Event()

    def received(sms: object) -> None:
        got.append(sms.text)  # type: ignore[attr-defined]
        done.set()

    modem = GsmModem(emulator.port, 115200, smsReceivedCallbackFunc=received)
    modem.connect()
    try:
        emulator.inject_burst([("+989121234567", "1 1"), ("+989121234568", "1 2"), ("+989121234569", "1 3")])
        done.wait(5)
    finally:
        _close(modem)
    assert len(got) == 1  # if this starts failing, python-gsmmodem changed: re-read the notes
    assert len(emulator.stored()) == 2  # the other two sit on the SIM, unseen


def _wait_for_library_threads(timeout: float = 5.0) -> None:
    """python-gsmmodem handles each notification on a thread of its own; let them finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any("HandleModemNotification" in t.name for t in threading.enumerate()):
            return
        time.sleep(0.05)


def test_unknown_commands_answer_error_and_smstools_style_lines_work(emulator: ModemEmulator) -> None:
    modem = _connect(emulator)
    try:
        assert modem.write("AT+NOSUCH", parseError=False)[-1] == "ERROR"
        lines = modem.write("AT+CMEE=1;+CREG=2;+CREG?")
        assert lines[-2:] == ['+CREG: 2,1,"00C3","0E2B"', "OK"]
    finally:
        _close(modem)


def test_storage_full_makes_the_network_hold_messages_until_space_frees(emulator: ModemEmulator) -> None:
    emulator.set_capacity(2)
    modem = _connect(emulator)
    # no +CMTI: the library would read and delete the redelivered message on its own thread,
    # racing the count below (that is the library's behaviour, not the emulator's)
    modem.write("AT+CNMI=2,0,0,0,0")
    try:
        for i in range(3):
            emulator.inject_sms("+989121234567", f"msg {i}", notify="none")
        assert len(emulator.stored()) == 2
        assert emulator.network_queue == 1
        modem.write("AT+CMGD=1")
        deadline = time.monotonic() + 3
        while emulator.network_queue and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulator.network_queue == 0 and len(emulator.stored()) == 2
    finally:
        _close(modem)


def test_stable_link_path_points_at_the_pty(tmp_path: Path) -> None:
    link = tmp_path / "modem1"
    with ModemEmulator("m1", link=link) as emu:
        assert os.path.realpath(link).startswith("/dev/pts/")
        modem = _connect(emu)
        _close(modem)
    assert not link.exists()


gammu = pytest.mark.skipif(shutil.which("gammu") is None, reason="gammu not installed (apt-get install gammu)")


@gammu
@pytest.mark.gammu
@pytest.mark.slow
def test_gammu_identifies_reads_and_sends(emulator: ModemEmulator, tmp_path: Path) -> None:
    rc = tmp_path / "gammurc"
    rc.write_text(f"[gammu]\ndevice = {emulator.port}\nconnection = at\n")
    emulator.inject_sms("+989121234567", "قطع ۴۸۲۱۳")

    def run(*args: str) -> str:
        p = subprocess.run(["gammu", "-c", str(rc), *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout

    assert "EmuCorp" in run("identify")
    assert "قطع ۴۸۲۱۳" in run("getallsms")
    run("sendsms", "TEXT", "+989121234567", "-unicode", "-text", "سلام")
    assert [m.text for m in emulator.sent] == ["سلام"]
