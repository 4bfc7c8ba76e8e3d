"""Modems on the network: a port written as rfc2217:// or socket://, checked, opened, and
driven by a real worker on an emulator behind a real ser2net or a raw TCP bridge."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim_bank.emulator import ModemEmulator
from sim_bank.exceptions import ModemUnavailable
from sim_bank.ports import parse_port, port_problem
from sim_bank.types import ModemConfig, ModemState, OutgoingSms
from sim_bank.worker import ModemWorker
from tests.sim_bank.netports import Ser2net, TcpBridge, free_port, needs_ser2net
from tests.sim_bank.test_worker import Recorder, make_worker, until

NUMBER = "+989121234567"
# pyserial's RFC 2217 reader thread is started with setDaemon()/setName()
pytestmark = pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")


@pytest.mark.parametrize(
    "port",
    [
        "/dev/serial/by-id/usb-SimTech-if02-port0",
        "rfc2217://192.0.2.10:2001",
        "rfc2217://pool-a.site.lan:2001?timeout=5",
        "RFC2217://10.0.0.5:4001?ign_set_control&poll_modem",
        "socket://192.0.2.10:4001",
        "socket://[2001:db8::10]:4001",
    ],
)
def test_the_port_forms_a_site_writes_are_accepted(port: str) -> None:
    assert port_problem(port) is None


@pytest.mark.parametrize(
    ("port", "problem", "fix"),
    [
        ("192.0.2.10:2001", "no scheme", "rfc2217://192.0.2.10:2001"),
        ("tcp://192.0.2.10:2001", "not a modem port scheme", "socket://192.0.2.10:2001"),
        ("telnet://192.0.2.10:2001", "not a modem port scheme", "rfc2217://192.0.2.10:2001"),
        ("loop://", "not a modem port scheme", "rfc2217://HOST:PORT"),
        ("rfc2217://192.0.2.10", "names no TCP port", "rfc2217://192.0.2.10:2001"),
        ("rfc2217://192.0.2.10:99999", "no usable TCP port", "e.g."),
        ("rfc2217://:2001", "names no host", "e.g."),
        ("rfc2217://192.0.2.10:2001/dev/ttyUSB0", "HOST:PORT only", "ser2net.yaml"),
        ("rfc2217://192.0.2.10:2001?logging=debug", "unknown option 'logging'", "timeout"),
        ("rfc2217://192.0.2.10:2001?timeout=0", "not 0-60 seconds", "timeout=5"),
        ("socket://192.0.2.10:2001?timeout=5", "takes no options", "socket://192.0.2.10:2001"),
        ("ttyUSB0", "not a device path", "/dev/ttyUSB0"),
    ],
)
def test_a_wrong_port_is_named_with_its_fix(port: str, problem: str, fix: str) -> None:
    found = port_problem(port)
    assert found is not None
    assert problem in found[0]
    assert fix in found[1]


def test_a_network_port_names_its_endpoint() -> None:
    assert parse_port("rfc2217://Pool-A:2001").endpoint == "pool-a:2001"
    assert parse_port("socket://[2001:db8::10]:4001").endpoint == "[2001:db8::10]:4001"
    assert parse_port("/dev/ttyUSB0").network is False


# ------------------------------------------------------------------ a worker on a network port


def net_config(url: str, **kw: float) -> ModemConfig:
    return ModemConfig("m1", url, sweep_interval=0.3, reconnect_max=0.5, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def emulator_link(tmp_path: Path) -> AsyncIterator[ModemEmulator]:
    emu = ModemEmulator("m1", link=tmp_path / "ttyUSB0").start()
    yield emu
    emu.stop()


async def _started(config: ModemConfig) -> tuple[ModemWorker, Recorder]:
    rec = Recorder()
    worker = make_worker(config, rec)
    worker.start()
    await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "ready", timeout=15)
    return worker, rec


async def _ready_again(rec: Recorder, down: ModemState, timeout: float) -> None:
    """Wait for the modem to be ready again after ``down``."""
    start = next(i for i, e in enumerate(rec.events) if e is down)
    await rec.wait_for(
        lambda _e: any(isinstance(e, ModemState) and e.state == "ready" for e in rec.events[start + 1 :]), timeout
    )


async def _sms_in_and_out(worker: ModemWorker, rec: Recorder, emu: ModemEmulator) -> None:
    emu.inject_sms(NUMBER, "1 48213 برق قطع است")
    assert await rec.wait_texts(1, timeout=10) == ["1 48213 برق قطع است"]
    result = await worker.send(OutgoingSms(NUMBER, "درخواست شما ثبت شد: 12-000345"))
    assert result.parts == 1
    sent = emu.wait_sent(1)
    assert (sent[0].number, sent[0].text) == (NUMBER, "درخواست شما ثبت شد: 12-000345")


@needs_ser2net
async def test_sms_in_and_out_through_ser2net_over_rfc2217(tmp_path: Path, emulator_link: ModemEmulator) -> None:
    with Ser2net(tmp_path, [str(emulator_link.link)]) as ser2net:
        worker, rec = await _started(net_config(ser2net.urls[0]))
        try:
            await _sms_in_and_out(worker, rec, emulator_link)
            ready = next(e for e in rec.events if isinstance(e, ModemState) and e.state == "ready")
            assert ready.info is not None and ready.info.manufacturer  # AT+CGMI answered through the link
        finally:
            await worker.stop()


async def test_sms_in_and_out_through_a_raw_tcp_port(emulator_link: ModemEmulator) -> None:
    with TcpBridge(str(emulator_link.link)) as bridge:
        worker, rec = await _started(net_config(bridge.url))
        try:
            await _sms_in_and_out(worker, rec, emulator_link)
        finally:
            await worker.stop()


async def test_a_pool_that_resets_the_link_is_reconnected_and_its_sms_still_arrive(
    emulator_link: ModemEmulator,
) -> None:
    """The pool ends the TCP connection (a reset, a reboot of its port): the modem is down at
    once, reconnects by itself, and an SMS that arrived meanwhile is handed over after."""
    with TcpBridge(str(emulator_link.link)) as bridge:
        worker, rec = await _started(net_config(bridge.url))
        try:
            bridge.drop()
            down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down", timeout=5)
            emulator_link.inject_sms(NUMBER, "2 11111", notify="none")
            await _ready_again(rec, down, 10)
            assert await rec.wait_texts(1, timeout=10) == ["2 11111"]
        finally:
            await worker.stop()


@pytest.mark.slow
@needs_ser2net
async def test_a_half_open_link_is_noticed_by_the_health_poll_within_two_intervals(
    tmp_path: Path, emulator_link: ModemEmulator
) -> None:
    """ser2net stopped dead (SIGSTOP): no RST, the kernel still acknowledges, nothing answers.
    The next health poll gets no answer and the modem goes down -- within two intervals --
    and when ser2net runs again the modem comes back by itself."""
    interval = 1.0  # a command waits at most 0.3 s: the poll is due at most one interval after the freeze,
    # whatever command is then on the line ends within 0.3 s, and the poll's own wait is 0.3 s
    config = dataclasses.replace(
        net_config("", health_interval=interval, command_timeout=0.3), sweep_interval=60.0
    )  # no timer sweep before the poll: the poll is what must notice
    with Ser2net(tmp_path, [str(emulator_link.link)]) as ser2net:
        worker, rec = await _started(dataclasses.replace(config, port=ser2net.urls[0]))
        try:
            await until(lambda: emulator_link.commands.count("AT+CMGL=4") >= 3)  # the sweep after connecting
            ser2net.freeze()
            frozen = time.monotonic()
            down = await rec.wait_for(
                lambda e: isinstance(e, ModemState) and e.state == "down", timeout=2 * interval + 1
            )
            assert time.monotonic() - frozen <= 2 * interval
            assert "health poll" in (down.reason or "")
            with pytest.raises(ModemUnavailable):
                await worker.send(OutgoingSms(NUMBER, "not now"))
            ser2net.thaw()
            await _ready_again(rec, down, 20)
            await worker.send(OutgoingSms(NUMBER, "back"))
            assert emulator_link.wait_sent(1)[0].text == "back"
        finally:
            ser2net.thaw()
            await worker.stop()


@needs_ser2net
async def test_the_ser2net_yaml_of_the_docs_serves_a_modem(tmp_path: Path, emulator_link: ModemEmulator) -> None:
    """docs/modem-pools.md's ser2net.yaml, its addresses and devices swapped for this test's."""
    docs = (Path(__file__).parents[2] / "docs" / "modem-pools.md").read_text(encoding="utf-8")
    yaml = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    ser2net = Ser2net(tmp_path, [str(emulator_link.link)])
    port = next(iter(ser2net.ports))
    ser2net.config.write_text(
        yaml.replace("10.20.0.11,3001", f"127.0.0.1,{port}")
        .replace("10.20.0.11,3002", f"127.0.0.1,{free_port()}")
        .replace("/dev/serial/by-id/usb-SimTech_SIM7600-if02-port0", str(emulator_link.link))
    )
    with ser2net:
        worker, rec = await _started(net_config(f"rfc2217://127.0.0.1:{port}"))
        try:
            await _sms_in_and_out(worker, rec, emulator_link)
        finally:
            await worker.stop()


async def test_nothing_listening_is_a_connect_error_naming_the_address(tmp_path: Path) -> None:
    port = free_port()
    rec = Recorder()
    worker = make_worker(net_config(f"rfc2217://127.0.0.1:{port}"), rec)
    worker.start()
    try:
        down = await rec.wait_for(lambda e: isinstance(e, ModemState) and e.state == "down", timeout=10)
        assert f"127.0.0.1:{port} refused the connection" in (down.reason or "")
        assert down.retry_in is not None  # retried with backoff, not given up
    finally:
        await worker.stop()
