"""The modem worker: real python-gsmmodem, real pty, real emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.dev.events import EventLog
from sim_bank import pdu
from sim_bank.emulator import ModemEmulator
from sim_bank.exceptions import EncodeError, ModemUnavailable, SendFailed
from sim_bank.types import DeliveryReport, InboundBatch, ModemConfig, ModemState, OutgoingSms
from sim_bank.urcs import UrcHandler
from sim_bank.worker import ModemWorker


class Recorder(EventLog):
    """The worker's events, with helpers for what a sweep handed over."""

    async def wait_for(self, predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        return await self.wait(object, predicate, timeout)

    def batches(self) -> list[InboundBatch]:
        return [e for e in self.events if isinstance(e, InboundBatch)]

    def texts(self) -> list[str]:
        return [m.decoded.text for b in self.batches() for m in b.messages if isinstance(m.decoded, pdu.Deliver)]

    async def wait_texts(self, n: int, timeout: float = 5.0) -> list[str]:
        await self.wait_for(lambda _e: len(self.texts()) >= n, timeout)
        return self.texts()


# An emulator answers the ESC sent at connect at once: no need to give it the 0.2 s a real modem gets.
PROMPT_CANCEL_WAIT = 0.02
SWEEP = 0.1  # the timer sweep of most tests here: short, so that no test waits long for one


def make_worker(config: ModemConfig, rec: Recorder) -> ModemWorker:
    config = dataclasses.replace(config, prompt_cancel_wait=PROMPT_CANCEL_WAIT)
    return ModemWorker(config, loop=asyncio.get_running_loop(), on_event=rec)


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait for ``predicate``, polling, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def listings(emulator: ModemEmulator) -> int:
    return emulator.commands.count("AT+CMGL=4")


@pytest.fixture
async def running(emulator: ModemEmulator) -> AsyncIterator[tuple[ModemWorker, Recorder]]:
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", emulator.port, sweep_interval=SWEEP, reconnect_max=0.5), rec)
    worker.start()
    await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
    yield worker, rec
    await worker.stop()


async def test_message_waiting_on_the_sim_at_start_is_handed_over(emulator: ModemEmulator) -> None:
    emulator.inject_sms("+989121234567", "1 48213", notify="none")
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", emulator.port), rec)
    worker.start()
    try:
        assert await rec.wait_texts(1) == ["1 48213"]
    finally:
        await worker.stop()


async def test_burst_of_three_cmti_hands_over_all_three(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    _worker, rec = running
    emulator.inject_burst([("+989121234567", "1 1"), ("+989121234568", "1 2"), ("+989121234569", "1 3")])
    assert sorted(await rec.wait_texts(3)) == ["1 1", "1 2", "1 3"]


async def test_messages_stay_on_the_sim_until_the_gateway_deletes_them(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, rec = running
    emulator.inject_sms("+989121234567", "1 48213")
    await rec.wait_texts(1)
    swept = listings(emulator)
    await until(lambda: listings(emulator) >= swept + 2 * len(worker.info.memories))  # two more timer sweeps
    assert len(emulator.stored()) == 1
    assert len(rec.texts()) == 1  # handed over once, not on every sweep
    stored = rec.batches()[0].messages[0]
    await worker.delete(stored.memory, [stored.index])
    assert emulator.stored() == {}


async def test_released_messages_are_handed_over_again(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, rec = running
    emulator.inject_sms("+989121234567", "1 48213")
    await rec.wait_texts(1)
    m = rec.batches()[0].messages[0]
    worker.release(m.memory, [m.index])  # e.g. the database refused the commit
    assert await rec.wait_texts(2) == ["1 48213", "1 48213"]


async def test_lost_cmti_is_recovered_by_the_timer_sweep(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    _worker, rec = running
    emulator.inject_sms("+989121234567", "no notification", notify="none")
    assert await rec.wait_texts(1, timeout=3) == ["no notification"]


async def test_cmti_swallowed_into_a_command_response_is_acted_on(emulator: ModemEmulator) -> None:
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", emulator.port, sweep_interval=3600), rec)  # no timer sweep to hide behind
    worker.start()
    try:
        await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
        await worker.command("AT")  # queued after the start-up sweep: that sweep is over
        emulator.inject_sms("+989121234567", "inside a response", notify="in_response")
        await worker.command("AT+CSQ")
        assert await rec.wait_texts(1) == ["inside a response"]
    finally:
        await worker.stop()


async def test_non_utf8_byte_does_not_silence_the_modem(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, rec = running
    emulator.write_raw(b"\r\n\xff\xfe garbage\r\n")
    await until(lambda: worker.line_noise >= 1)
    emulator.inject_sms("+989121234567", "after the noise")
    assert await rec.wait_texts(1) == ["after the noise"]
    result = await worker.send(OutgoingSms("+989121234567", "still sending"))
    assert result.parts == 1
    assert worker.line_noise >= 1


async def test_undecodable_pdu_is_handed_over_raw_and_others_keep_their_index(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    _worker, rec = running
    good = pdu.encode_deliver("+989121234567", "after the bad one", timestamp=datetime.now(UTC))
    emulator.inject_pdus(["0791893905000100040C91891912", *good])
    await rec.wait_for(lambda e: sum(len(b.messages) for b in rec.batches()) >= 2)
    messages = [m for b in rec.batches() for m in b.messages]
    bad = [m for m in messages if m.decoded is None]
    assert len(bad) == 1 and bad[0].error and bad[0].pdu == "0791893905000100040C91891912"
    ok = [m for m in messages if m.decoded is not None]
    assert emulator.stored()[ok[0].index] == good[0]  # notes #6: the index is the modem's own


async def test_multipart_send_reaches_the_handset_whole(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, _rec = running
    text = "درخواست شما ثبت شد. " * 8
    result = await worker.send(OutgoingSms("+989121234567", text, concat_ref=42))
    assert result.parts == 3 and len(result.references) == 3
    assert [(m.number, m.text, m.parts) for m in emulator.sent] == [("+989121234567", text, 3)]


async def test_cms_error_is_reported_with_its_code(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, _rec = running
    emulator.fail_next_sends(1, code=38)
    with pytest.raises(SendFailed) as err:
        await worker.send(OutgoingSms("+989121234567", "hello"))
    assert err.value.cms_code == 38 and not err.value.permanent and err.value.on_air == 0
    emulator.fail_next_sends(1, code=1)
    with pytest.raises(SendFailed) as err:
        await worker.send(OutgoingSms("+989121234567", "hello"))
    assert err.value.permanent  # unassigned number: no SIM can send it
    await worker.send(OutgoingSms("+989121234567", "hello"))
    assert [m.text for m in emulator.sent] == ["hello"]


async def test_failure_in_part_two_reports_part_one_on_air(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    worker, _rec = running
    text = "x" * 300  # two parts
    emulator.fail_next_sends(1, code=42, after=1)  # part 1 goes out, the network refuses part 2
    with pytest.raises(SendFailed) as err:
        await worker.send(OutgoingSms("+989121234567", text, concat_ref=9))
    assert err.value.on_air == 1 and len(err.value.references) == 1
    # resend only the missing part with the same reference: the handset joins them
    result = await worker.send(OutgoingSms("+989121234567", text, concat_ref=9, skip_parts=1))
    assert len(result.references) == 1
    assert [(m.text, m.parts) for m in emulator.sent] == [(text, 2)]


async def test_bad_destination_is_an_encode_error(running) -> None:  # type: ignore[no-untyped-def]
    worker, _rec = running
    with pytest.raises(EncodeError):
        await worker.send(OutgoingSms("+98 912", "hello"))


async def test_missing_port_is_reported_and_retried(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB9"
    rec = Recorder()
    worker = make_worker(ModemConfig("m9", str(link), reconnect_max=0.05), rec)
    worker.start()
    try:
        down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down")
        assert "cannot open" in (down.reason or "") and str(link) in (down.reason or "")
        with pytest.raises(ModemUnavailable):
            await worker.send(OutgoingSms("+989121234567", "hello"))
        with ModemEmulator("m9", link=link) as emu:  # the modem is plugged in
            await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready", timeout=10)
            await worker.send(OutgoingSms("+989121234567", "hello"))
            assert [m.text for m in emu.sent] == ["hello"]
            await worker.stop()
    finally:
        await worker.stop()


async def test_pin_required_is_not_retried_and_says_what_to_set(tmp_path: Path) -> None:
    with ModemEmulator("m1", pin="1234") as emu:
        rec = Recorder()
        worker = make_worker(ModemConfig("m1", emu.port), rec)
        worker.start()
        try:
            down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down")
            assert "pin" in (down.reason or "").lower() and down.retry_in is None
        finally:
            await worker.stop()
        rec2 = Recorder()
        worker2 = make_worker(ModemConfig("m1", emu.port, pin="1234"), rec2)
        worker2.start()
        try:
            await rec2.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
        finally:
            await worker2.stop()


async def test_a_memory_that_fails_to_list_does_not_strand_messages_found_in_another(
    running, emulator: ModemEmulator
) -> None:  # type: ignore[no-untyped-def]
    _worker, rec = running
    emulator.fail_next_listing("SM")  # the SIM is busy for a moment
    emulator.inject_sms("+989121234567", "1 48213", notify="none")  # stored in ME, listed first
    assert await rec.wait_texts(1, timeout=3) == ["1 48213"]


async def test_odd_answer_during_connect_is_reported_and_retried(emulator: ModemEmulator) -> None:
    emulator.override("AT+CFUN?", ["OK"])  # no +CFUN line: python-gsmmodem trips over it
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", emulator.port, reconnect_max=0.05), rec)
    worker.start()
    try:
        down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down")
        assert "unexpected answer during initialisation" in (down.reason or "")
        emulator.override("AT+CFUN?", None)  # the modem behaves again
        await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready", timeout=10)
    finally:
        await worker.stop()


async def test_stop_resolves_a_delete_waiting_for_an_unplugged_modem(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    emu = ModemEmulator("m1", link=link).start()
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", str(link), reconnect_max=0.3), rec)
    worker.start()
    await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
    emu.stop()  # unplugged
    await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down", timeout=10)
    delete = asyncio.ensure_future(worker.delete("ME", [1]))
    # kept for after a reconnect that never comes
    await until(lambda: any(job.kind == "delete" for _, _, job in worker._deferred))
    await worker.stop()
    with pytest.raises(ModemUnavailable):
        await asyncio.wait_for(delete, 3)
    with pytest.raises(ModemUnavailable, match="stopping"):  # asked after the stop: refused, not left waiting
        await asyncio.wait_for(worker.delete("ME", [2]), 3)


async def test_second_process_cannot_open_a_port_in_use(running, emulator: ModemEmulator) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder()
    other = make_worker(ModemConfig("again", emulator.port, reconnect_max=0.3), rec)
    other.start()
    try:
        down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down")
        assert "held by another program" in (down.reason or "")
    finally:
        await other.stop()


async def test_a_modem_unplugged_while_a_command_waits_is_noticed_at_once_not_at_the_timeout(tmp_path: Path) -> None:
    """The reader thread sees the port fail; the command waiting for its answer (the hung
    modem never answers) is told at once, so the SIM shows down in well under
    command_timeout."""
    link = tmp_path / "ttyUSB0"
    emu = ModemEmulator("m1", link=link).start()
    rec = Recorder()
    worker = make_worker(ModemConfig("m1", str(link), reconnect_max=0.3, command_timeout=30.0), rec)
    worker.start()
    try:
        await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready")
        emu.hang()
        asked = len(emu.commands)
        worker.request_sweep()  # a command that now waits for an answer that never comes
        await until(lambda: len(emu.commands) > asked)
        emu.stop()  # unplugged
        down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down", timeout=5)  # not 30 s
        assert "port failed" in (down.reason or "")
    finally:
        await worker.stop()


# ------------------------------------------------------------------ a modem that will not list its memories


def _guessing_worker(emulator: ModemEmulator, rec: Recorder) -> ModemWorker:
    """A worker on a modem that refuses ``AT+CPMS=?``: it must guess the memories to sweep."""
    emulator.override("AT+CPMS=?", ["ERROR"])
    return make_worker(ModemConfig("m1", emulator.port, sweep_interval=SWEEP, reconnect_max=0.5), rec)


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("CMS", 314),  # SIM busy: common just after boot
        ("CMS", 500),  # unknown error (+CME 14 / 515, "busy", the library itself retries)
        ("CMS", 322),  # memory full: the one memory that must be read
        ("CMS", None),  # a plain ERROR says nothing about the memory
    ],
)
async def test_a_guessed_memory_refused_for_the_moment_is_read_at_a_later_sweep(
    emulator: ModemEmulator, kind: str, code: int | None
) -> None:
    emulator.inject_sms("+989121234567", "1 48213", notify="none")  # waiting in SM since before we connected
    emulator.fail_next_selection("SM", code, kind=kind, count=2)
    rec = Recorder()
    worker = _guessing_worker(emulator, rec)
    worker.start()
    try:
        assert await rec.wait_texts(1, timeout=15) == ["1 48213"]
        assert emulator.commands.count('AT+CPMS="SM"') >= 3  # refused twice, then read
    finally:
        await worker.stop()


@pytest.mark.parametrize(("kind", "code"), [("CMS", 302), ("CMS", 303), ("CME", 3), ("CME", 4)])
async def test_a_guessed_memory_the_modem_says_it_lacks_is_dropped_and_the_others_still_read(
    emulator: ModemEmulator, kind: str, code: int
) -> None:
    emulator.inject_sms("+989121234567", "in SM", notify="none")
    emulator.fail_next_selection("SR", code, kind=kind, count=1000)  # this modem has no report memory
    rec = Recorder()
    worker = _guessing_worker(emulator, rec)
    worker.start()
    try:
        assert await rec.wait_texts(1, timeout=15) == ["in SM"]
        sweeps = emulator.commands.count('AT+CPMS="SM"')
        await until(lambda: emulator.commands.count('AT+CPMS="SM"') >= sweeps + 3)  # three sweeps more
        assert emulator.commands.count('AT+CPMS="SR"') == 1  # asked once, not at every sweep
        emulator.inject_sms("+989121234568", "new")  # and a new message is read too
        assert await rec.wait_texts(2, timeout=15) == ["in SM", "new"]
    finally:
        await worker.stop()


async def test_the_memory_question_is_asked_again_until_the_modem_answers_it(emulator: ModemEmulator) -> None:
    emulator.set_dialect("wavecom")  # AT+CPMS=? names SM and ME only
    rec = Recorder()
    worker = _guessing_worker(emulator, rec)
    worker.start()
    try:
        await until(lambda: emulator.commands.count('AT+CPMS="SR"') >= 1)  # guessing: SR tried as well
        emulator.override("AT+CPMS=?", None)  # the answer comes through this time
        asked = emulator.commands.count("AT+CPMS=?")
        await until(lambda: emulator.commands.count("AT+CPMS=?") > asked)
        tried = emulator.commands.count('AT+CPMS="SR"')
        sweeps = emulator.commands.count('AT+CPMS="SM"')
        await until(lambda: emulator.commands.count('AT+CPMS="SM"') >= sweeps + 3)
        assert emulator.commands.count('AT+CPMS="SR"') <= tried + 1  # at most the sweep under way
        assert emulator.commands.count("AT+CPMS=?") <= asked + 2  # answered: no longer asked
        emulator.inject_sms("+989121234567", "still read")
        assert await rec.wait_texts(1, timeout=15) == ["still read"]
    finally:
        await worker.stop()


async def test_a_split_delivery_report_survives_an_empty_notification_between_its_lines() -> None:
    """+CDS header, then (the library) a notification with no lines, then the PDU: the
    report still arrives (seen lost under load: the empty call forgot the waiting header)."""
    rec = Recorder()
    urcs = UrcHandler("m1", emit=rec, request_sweep=lambda _memory: None)
    sent = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    report = pdu.encode_status_report("+989121234567", 7, 0, sent=sent, discharged=sent)
    urcs.handle([f"+CDS: {len(report) // 2 - 1}"])
    urcs.handle([])
    urcs.handle([report])
    delivered = await rec.wait_for(lambda e: isinstance(e, DeliveryReport), timeout=2)
    assert delivered.report.reference == 7 and delivered.report.status == 0
