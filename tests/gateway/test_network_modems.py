"""Modem pools over the network with the real daemon: emulated modems behind a real ser2net
(RFC 2217) and behind a raw TCP bridge; SMS in and out through both; ser2net killed in the
middle of a send and started again; ``gateway doctor`` on network ports."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config import SendConfig
from sim_bank.emulator import ModemEmulator
from tests.gateway.harness import Harness, eventually
from tests.sim_bank.netports import Ser2net, TcpBridge, free_port, needs_ser2net

# pyserial's RFC 2217 reader thread is started with setDaemon()/setName()
pytestmark = pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")


def on_ports(h: Harness, urls: dict[str, str]) -> None:
    """The harness's modems reached at ``urls`` (modem id -> port) instead of their ptys."""
    modems = tuple(dataclasses.replace(m, port=urls[m.id]) for m in h.config.modems)
    h.config = h.config.with_modems(modems, per_minute=1000)


def sent_to(h: Harness, number: str) -> list[tuple[str, str]]:
    return [(e.modem_id, m.text) for e in h.emulators for m in e.sent if m.number == number]


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, count=2)
    yield h
    await h.stop()
    h.close()


@needs_ser2net
async def test_sms_in_and_out_through_ser2net_and_a_raw_tcp_port(pool: Harness, tmp_path: Path) -> None:
    """m1 behind ser2net (rfc2217://), m2 behind a pool's raw TCP port (socket://): a customer
    texting either is registered once and answered from the SIM they texted."""
    with Ser2net(tmp_path, [str(pool.emu("m1").link)]) as ser2net, TcpBridge(str(pool.emu("m2").link)) as bridge:
        on_ports(pool, {"m1": ser2net.urls[0], "m2": bridge.url})
        await pool.start()
        pool.emu("m1").inject_sms("+989121110001", "قطع ۴۸۲۱۳")
        pool.emu("m2").inject_sms("+989121110002", "1 55555")
        first = await pool.reply_to("+989121110001", timeout=30)
        second = await pool.reply_to("+989121110002", timeout=30)
        for reply in (first, second):  # "your request 12-00000N is registered", in Persian digits
            assert "ثبت شد" in reply.text and "۱۲-۰۰۰۰۰" in reply.text, reply.text
        assert [m for m, _ in sent_to(pool, "+989121110001")] == ["m1"]
        assert [m for m, _ in sent_to(pool, "+989121110002")] == ["m2"]
        tickets = await pool.sql("SELECT phone, account, modem FROM tickets ORDER BY phone")
        assert tickets == [("+989121110001", "48213", "m1"), ("+989121110002", "55555", "m2")]
        await pool.stop()


@pytest.mark.slow
@needs_ser2net
async def test_ser2net_killed_in_the_middle_of_a_send_loses_nothing_and_repeats_nothing_known(
    tmp_path: Path,
) -> None:
    """Four customers text m1 (behind ser2net, 1.5 s on air per send); ser2net is killed while a
    reply's PDU waits for its +CMGS, then started again a second later. The modem reconnects by
    itself; every customer is answered; a reply the database had recorded sent is never sent
    again. The one in flight went on air without a word back: the database could not know, and
    a reply is retried (a second copy beats silence; a notice would be recorded unknown)."""
    h = Harness(tmp_path, count=1)
    emu = h.emu("m1")
    emu.set_send_latency(1.5)
    customers = [f"+98912111{n:04d}" for n in range(1, 5)]
    try:
        with Ser2net(tmp_path, [str(emu.link)]) as ser2net:
            on_ports(h, {"m1": ser2net.urls[0]})
            h.configure(send=SendConfig(retry_base=0.5))  # the retry of the one in flight, soon
            await h.start()
            for n, number in enumerate(customers):
                emu.inject_sms(number, f"1 {48210 + n}")
            await eventually(lambda: len(emu.sent) >= 1, timeout=30)
            # a PDU on its way: AT+CMGS taken, its answer not yet given
            await eventually(lambda: sum(c.startswith("AT+CMGS") for c in emu.commands) > len(emu.sent), 10)
            await asyncio.sleep(0.3)  # inside the 1.5 s on air: the prompt came back and the PDU went in
            ser2net.kill()
            known_sent = {p for (p,) in await h.sql("SELECT phone FROM outbox WHERE status IN ('sent', 'delivered')")}
            await eventually(lambda: h.daemon is not None and "m1" not in h.daemon.bank.ready(), timeout=10)
            await asyncio.sleep(1.0)  # the site's ser2net is down a while
            ser2net.start()
            await eventually(lambda: all(sent_to(h, n) for n in customers), timeout=60)

            async def all_recorded() -> bool:
                rows = await h.sql("SELECT status FROM outbox WHERE lane = 'reply'")
                return len(rows) == len(customers) and all(s in ("sent", "delivered") for (s,) in rows)

            await eventually(all_recorded, timeout=30)
        copies = {n: len(sent_to(h, n)) for n in customers}
        assert known_sent and all(copies[n] == 1 for n in known_sent), (known_sent, copies)
        twice = [n for n, c in copies.items() if c == 2]
        assert len(twice) == 1 and twice[0] not in known_sent and sorted(copies.values()) == [1, 1, 1, 2], copies
        assert await h.sql(f"SELECT attempts FROM outbox WHERE phone = '{twice[0]}'") == [(2,)]
        assert await h.sql("SELECT COUNT(*) FROM tickets") == [(len(customers),)]  # each SMS in once
    finally:
        await h.stop()
        h.close()


# ------------------------------------------------------------------ gateway check-config


def test_check_config_names_a_wrong_network_port_and_its_fix(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[modems]]\nid = "a"\nport = "tcp://10.20.0.11:3001"\n'
        '[[modems]]\nid = "b"\nport = "rfc2217://10.20.0.11"\n'
        '[[modems]]\nid = "c"\nport = "rfc2217://10.20.0.12:3001"\n'
        '[[modems]]\nid = "d"\nport = "socket://10.20.0.12:3001"\n',
        encoding="utf-8",
    )
    out = CliRunner().invoke(main, ["check-config", "-c", str(config)])
    assert out.exit_code == 1, out.output
    for line in (
        "modems[1].port", "tcp:// is not a modem port scheme", "write socket://10.20.0.11:3001",
        "modems[2].port", "names no TCP port", "e.g. rfc2217://192.0.2.10:2001",
        "modems[4].port", "also modems[3]'s port",
    ):  # fmt: skip
        assert line in out.output, (line, out.output)
    config.write_text('[[modems]]\nid = "a"\nport = "rfc2217://10.20.0.11:3001?timeout=5"\n', encoding="utf-8")
    assert CliRunner().invoke(main, ["check-config", "-c", str(config)]).exit_code == 0


# ------------------------------------------------------------------ gateway doctor


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[dict[str, ModemEmulator]]:
    made = {name: ModemEmulator(name, link=tmp_path / name).start() for name in ("raw", "wrong", "ser2net")}
    yield made
    for e in made.values():
        e.stop()


def _doctor(tmp_path: Path, modems: dict[str, str]) -> tuple[int, str]:
    config = tmp_path / "gateway.toml"
    entries = "".join(f'[[modems]]\nid = "{mid}"\nport = "{port}"\n' for mid, port in modems.items())
    config.write_text(f'[storage]\ndatabase = "gw.db"\n{entries}', encoding="utf-8")
    config.chmod(0o600)
    result = CliRunner().invoke(main, ["doctor", "-c", str(config)])
    return result.exit_code, result.output


def test_doctor_checks_a_network_port_step_by_step(tmp_path: Path, emulators: dict[str, ModemEmulator]) -> None:
    """Name, TCP connection, protocol, AT and its round trip -- each failure with its fix; and
    the warning that these ports have neither encryption nor authentication."""
    closed = free_port()
    with TcpBridge(str(emulators["raw"].link)) as raw, TcpBridge(str(emulators["wrong"].link)) as wrong:
        code, out = _doctor(tmp_path, {
            "raw": raw.url,
            "wrong": f"rfc2217://127.0.0.1:{wrong.port}?timeout=1",  # a raw port named as RFC 2217
            "closed": f"rfc2217://127.0.0.1:{closed}",
            "far": "rfc2217://modem-pool.invalid:2001",
        })  # fmt: skip
    assert code == 0, out  # one modem ready: the gateway can serve
    for line in (
        "raw        host name    127.0.0.1: 127.0.0.1",
        f"raw        TCP connect  127.0.0.1:{raw.port} in",
        "raw        answers AT   EmuCorp",
        "AT round trip",
        "FAIL  wrong      port opens",
        "did not speak RFC 2217",
        'write port = "socket://127.0.0.1:',
        f"FAIL  closed     TCP connect  127.0.0.1:{closed} refused the connection",
        "is ser2net (or the pool's TCP server) running on 127.0.0.1",
        "FAIL  far        host name    modem-pool.invalid does not resolve",
        "raw, wrong, closed on this host's loopback: nothing crosses a network",
        "rfc2217:// has neither encryption nor authentication",
        "dedicated VLAN, or carry the ports over WireGuard (docs/modem-pools.md)",
    ):
        assert line in out, (line, out)


@needs_ser2net
def test_doctor_on_a_modem_behind_ser2net(tmp_path: Path, emulators: dict[str, ModemEmulator]) -> None:
    with Ser2net(tmp_path, [str(emulators["ser2net"].link)]) as ser2net:
        code, out = _doctor(tmp_path, {"m1": ser2net.urls[0]})
    assert code == 0 and "the gateway can serve" in out, out
    for line in ("TCP connect", "answers AT   EmuCorp", "AT round trip", "registered (home) on Emu Mobile",
                 "m1 on this host's loopback"):  # fmt: skip
        assert line in out, (line, out)
    assert "FAIL" not in out, out
