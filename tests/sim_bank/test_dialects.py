"""Real modem dialects: Huawei's unsolicited lines inside answers, Wavecom's +CPIN? without OK.

Real python-gsmmodem over a real pty against the emulator speaking that dialect.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from gsmmodem.modem import GsmModem

import sim_bank
from sim_bank.emulator import ModemEmulator
from sim_bank.emulator_at import AtInterpreter
from sim_bank.gsm import Modem
from sim_bank.probe import probe
from sim_bank.simulator import EmulatorBank, SimulatorError
from sim_bank.types import ModemConfig, ModemInfo, ModemState, OutgoingSms
from sim_bank.worker import ModemWorker
from tests.gateway.harness import Harness, eventually

from .test_worker import SWEEP, Recorder, make_worker

# python-gsmmodem waits 15 s for the OK a Wavecom never sends after +CPIN: READY. The tests
# time only the AT+CPIN? exchange, from the emulator's own record (that command's arrival to
# the next command's), not a whole connect over a pty, which a loaded machine stretches.
# Expected: about LATE_FINAL_WAIT (0.3 s); the bound is generous and still fails the 15 s wait.
CPIN_EXCHANGE_BOUND = 5.0
READY_TIMEOUT = 30.0  # only a limit for a test gone wrong: longer than the library's 15 s wait


def _assert_cpin_answered_at_once(emu: ModemEmulator) -> None:
    times = emu.exchange_times("AT+CPIN?")
    assert times, "no AT+CPIN? followed by another command"
    assert max(times) < CPIN_EXCHANGE_BOUND, f"AT+CPIN? exchanges took {times} s: waited for an OK that never comes"


def _worker(emu: ModemEmulator, rec: Recorder, **config: float) -> ModemWorker:
    settings = {"sweep_interval": SWEEP, "reconnect_max": 0.5, **config}
    return make_worker(ModemConfig("m1", emu.port, **settings), rec)  # type: ignore[arg-type]


async def _ready(rec: Recorder, timeout: float = 10.0) -> ModemInfo:
    """What the modem said about itself once it was ready."""
    state = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready", timeout)
    assert isinstance(state, ModemState) and state.info is not None
    return state.info


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------ the emulator speaks the dialect


def _answer(interpreter: AtInterpreter, command: str) -> list[str]:
    interpreter.output.clear()
    interpreter._feed(command.encode() + b"\r")
    return [line for line in interpreter.output.decode("latin-1").split("\r\n") if line]


def test_huawei_emulator_slips_urcs_into_answers() -> None:
    modem = AtInterpreter("h1", dialect="huawei")
    _answer(modem, "ATE0")
    assert _answer(modem, "AT+CPMS=?") == [
        "^BOOT:20155479,0,0,0,72",
        '+CPMS: ("ME","SM","SR"),("ME","SM"),("ME","SM")',
        "OK",
    ]
    assert _answer(modem, "AT+CGMI") == ["^MODE:5,4", "huawei", "OK"]
    modem.set_noise(["^RSSI:17"], place="after")
    assert _answer(modem, "AT+CGMM") == ["E3531", "^RSSI:17", "OK"]
    modem.set_noise(None)
    assert _answer(modem, "AT+CGMM") == ["E3531", "OK"]


def test_wavecom_emulator_answers_cpin_without_a_final_result_code() -> None:
    modem = AtInterpreter("w1", dialect="wavecom")
    _answer(modem, "ATE0")
    assert _answer(modem, "AT+CPIN?") == ["+CPIN: READY"]
    assert _answer(modem, "AT+CGMI") == ["WAVECOM MODEM", "OK"]


# ------------------------------------------------------------------ item 12: Huawei noise


async def test_messages_waiting_in_sm_are_read_and_deleted_when_urcs_land_in_answers() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        emu.inject_sms("+989121234567", "1 48213", notify="none")  # arrived while the gateway was away: in SM
        assert len(emu.stored("SM")) == 1
        rec = Recorder()
        worker = _worker(emu, rec)
        worker.start()
        try:
            info = await _ready(rec)
            assert set(info.memories) >= {"SM", "ME"}
            assert await rec.wait_texts(1) == ["1 48213"]
            stored = rec.batches()[0].messages[0]
            assert stored.memory == "SM"
            await worker.delete(stored.memory, [stored.index])
            assert emu.stored("SM") == {}
            # new messages go to ME (where python-gsmmodem points the modem): read as well
            emu.inject_sms("+989121234568", "1 77777")
            assert await rec.wait_texts(2) == ["1 48213", "1 77777"]
        finally:
            await worker.stop()


async def test_manufacturer_model_and_imei_are_not_urcs_that_landed_in_the_answer() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        rec = Recorder()
        worker = _worker(emu, rec)
        worker.start()
        try:
            info = await _ready(rec)
            assert (info.manufacturer, info.model, info.imei) == ("huawei", "E3531", emu.imei)
        finally:
            await worker.stop()


async def test_a_new_sms_announced_inside_an_identification_answer_is_read() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        rec = Recorder()
        worker = _worker(emu, rec, sweep_interval=3600)  # no timer sweep to hide behind
        worker.start()
        try:
            await _ready(rec)
            await _until(lambda: emu.commands.count("AT+CMGL=4") >= 3)  # the start-up sweep of ME, SM, SR ran
            emu.inject_sms("+989121234567", "1 48213", notify="in_response")
            assert await worker.command("AT+CGMI") == ["huawei", "OK"]  # the +CMTI and ^RSSI taken out
            assert await rec.wait_texts(1) == ["1 48213"]
        finally:
            await worker.stop()


def test_the_librarys_own_positional_reads_skip_urcs() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        seen: list[list[str]] = []
        modem = Modem(ModemConfig("m1", emu.port, prompt_cancel_wait=0.02), seen.append, lambda _exc: None)
        try:
            GsmModem.connect(modem)
            assert (modem.manufacturer, modem.model, modem.imei) == ("huawei", "E3531", emu.imei)
            assert any(line.startswith("^") for lines in seen for line in lines)  # handed on as notifications
        finally:
            modem.shut()


async def test_noise_anywhere_in_answers_loses_no_message_and_sends_still_work() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        emu.set_noise(["^RSSI:17", "^BOOT:20155479,0,0,0,72", "^MODE:5,4", "+CREG: 1", "RING"], place="random")
        emu.inject_burst([("+989121234567", "1 1"), ("+989121234568", "1 2")])  # in SM, before we connect
        rec = Recorder()
        worker = _worker(emu, rec)
        worker.start()
        try:
            await _ready(rec)
            emu.inject_burst([("+989121234569", "1 3"), ("+989121234560", "1 4")])
            assert sorted(await rec.wait_texts(4)) == ["1 1", "1 2", "1 3", "1 4"]
            for batch in rec.batches():
                for m in batch.messages:
                    await worker.delete(m.memory, [m.index])
            assert emu.stored("SM") == {} and emu.stored("ME") == {}
            result = await worker.send(OutgoingSms("+989121234567", "registered"))
            assert result.parts == 1 and [m.text for m in emu.sent] == ["registered"]
        finally:
            await worker.stop()


async def test_a_modem_refusing_the_storage_question_still_connects_and_reads_every_memory() -> None:
    with ModemEmulator("m1") as emu:
        emu.inject_sms("+989121234567", "in SM", notify="none")
        emu.override("AT+CPMS=?", ["ERROR"])
        rec = Recorder()
        worker = _worker(emu, rec)
        worker.start()
        try:
            await _ready(rec)
            assert await rec.wait_texts(1) == ["in SM"]
        finally:
            await worker.stop()


async def test_the_gateway_tickets_and_deletes_a_message_waiting_in_sm_on_a_huawei(tmp_path: Path) -> None:
    h = Harness(tmp_path, count=1)
    try:
        h.emu().set_dialect("huawei")
        h.emu().inject_sms("+989121234567", "1 48213", notify="none")
        await h.start()
        await h.reply_to("+989121234567")  # "your request 12-... is registered"
        assert await h.sql("SELECT phone, account FROM tickets") == [("+989121234567", "48213")]
        await eventually(lambda: h.emu().stored("SM") == {})
    finally:
        await h.stop()
        h.close()


def test_doctor_probe_names_the_manufacturer_despite_urcs(tmp_path: Path) -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        result = probe(emu.port, 115200, timeout=3.0)
    assert (result.manufacturer, result.model, result.pin_state) == ("huawei", "E3531", "READY")
    assert result.storage == (0, 50) and result.signal == 20 and result.operator == "Emu Mobile"


# ------------------------------------------------------------------ item 13: Wavecom +CPIN? without OK


async def test_wavecom_connects_without_waiting_for_an_ok_after_cpin_and_works() -> None:
    with ModemEmulator("m1", dialect="wavecom") as emu:
        emu.inject_sms("+989121234567", "1 48213", notify="none")
        rec = Recorder()
        worker = _worker(emu, rec)
        worker.start()
        try:
            info = await _ready(rec, timeout=READY_TIMEOUT)
            _assert_cpin_answered_at_once(emu)
            assert info.manufacturer == "WAVECOM MODEM"
            assert await rec.wait_texts(1) == ["1 48213"]  # the commands after +CPIN? got their own answers
            await worker.send(OutgoingSms("+989121234567", "registered"))
            assert [m.text for m in emu.sent] == ["registered"]
        finally:
            await worker.stop()


async def test_wavecom_reconnects_without_waiting_for_an_ok_after_cpin(tmp_path: Path) -> None:
    link = tmp_path / "ttyWAVECOM"
    with ModemEmulator("m1", link=link, dialect="wavecom") as emu:
        rec = Recorder()
        worker = make_worker(
            ModemConfig("m1", str(link), sweep_interval=SWEEP, reconnect_max=0.2, command_timeout=2.0), rec
        )
        worker.start()
        try:
            await _ready(rec, timeout=READY_TIMEOUT)
            emu.unplug()
            await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down", timeout=10)
            rec.events.clear()
            asked = emu.commands.count("AT+CPIN?")
            emu.replug()
            await _ready(rec, timeout=READY_TIMEOUT)
            assert emu.commands.count("AT+CPIN?") > asked  # connected again: asked again
            _assert_cpin_answered_at_once(emu)
        finally:
            await worker.stop()


async def test_pin_is_still_entered_on_a_wavecom() -> None:
    with ModemEmulator("m1", dialect="wavecom", pin="1234") as emu:
        rec = Recorder()
        worker = make_worker(ModemConfig("m1", emu.port, pin="1234", reconnect_max=0.5), rec)
        worker.start()
        try:
            await _ready(rec, timeout=READY_TIMEOUT)
            _assert_cpin_answered_at_once(emu)
            assert not emu.sim_locked()
        finally:
            await worker.stop()


def test_doctor_probe_reads_a_wavecom_pin_state_at_once() -> None:
    with ModemEmulator("m1", dialect="wavecom") as emu:
        # a probe waiting for the OK would wait out its whole 20 s timeout on AT+CPIN?
        result = probe(emu.port, 115200, timeout=20.0)
        _assert_cpin_answered_at_once(emu)
    assert result.pin_state == "READY" and result.registration == 1


def test_the_simulated_bank_switches_dialect_and_noise_on_request(tmp_path: Path) -> None:
    with EmulatorBank(1, tmp_path / "dev", dialect="huawei") as bank:
        port = str(bank.emulators[0].link)
        assert probe(port, 115200).manufacturer == "huawei"
        bank.handle({"op": "fault", "modem": "m1", "kind": "dialect", "name": "wavecom"})
        bank.handle({"op": "fault", "modem": "m1", "kind": "noise", "lines": ["^RSSI:9"], "place": "after"})
        result = probe(port, 115200)
        assert (result.manufacturer, result.pin_state) == ("WAVECOM MODEM", "READY")
        with pytest.raises(SimulatorError, match="no modem dialect 'nokia'"):
            bank.handle({"op": "fault", "modem": "m1", "kind": "dialect", "name": "nokia"})


def test_doctor_probe_reads_a_balance_text_over_several_lines_among_urcs() -> None:
    with ModemEmulator("m1", dialect="huawei") as emu:
        emu.set_ussd_reply("*140#", "Your balance:\n12,000 Rials")
        result = probe(emu.port, 115200, timeout=3.0, balance_ussd="*140#")
    assert (result.balance_text, result.balance_error) == ("Your balance:\n12,000 Rials", None)


# ------------------------------------------------------------------ one definition of what ends an answer


def test_doctor_probe_takes_huaweis_command_not_support_as_the_end_of_an_answer() -> None:
    """The probe knows the same final result codes as the worker (``at.FINAL_CODES``): a
    Huawei's ``COMMAND NOT SUPPORT`` ends the answer, it is not waited past."""
    with ModemEmulator("m1", dialect="huawei") as emu:
        emu.override("AT+CSCA?", ["COMMAND NOT SUPPORT"])
        result = probe(emu.port, 115200, timeout=20.0)  # a probe waiting past it would wait 20 s
        times = emu.exchange_times("AT+CSCA?")
    assert times and max(times) < CPIN_EXCHANGE_BOUND, times
    assert result.smsc is None and result.storage == (0, 50)  # and the questions after it were asked


def test_answer_ending_constants_are_defined_once_in_at() -> None:
    names = {"LATE_FINAL_WAIT", "FINAL_CODES", "FINAL"}
    defined: list[tuple[str, str]] = []
    for path in sorted(Path(sim_bank.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            defined += [(t.id, path.name) for t in targets if isinstance(t, ast.Name) and t.id in names]
    assert sorted(defined) == [("FINAL_CODES", "at.py"), ("LATE_FINAL_WAIT", "at.py")]
