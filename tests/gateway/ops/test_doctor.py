"""gateway doctor against emulated modems in good and bad states: verdicts, fixes, exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from sim_bank.emulator import ModemEmulator


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[dict[str, ModemEmulator]]:
    made = {
        "good": ModemEmulator("good", link=tmp_path / "good").start(),
        "pin": ModemEmulator("pin", link=tmp_path / "pin", pin="4321").start(),
        "nonet": ModemEmulator("nonet", link=tmp_path / "nonet").start(),
        "full": ModemEmulator("full", link=tmp_path / "full", capacity=3).start(),
    }
    yield made
    for e in made.values():
        e.stop()


def write_config(tmp_path: Path, modems: list[tuple[str, str]], extra: str = "") -> Path:
    config = tmp_path / "gateway.toml"
    entries = "".join(f'[[modems]]\nid = "{mid}"\nport = "{port}"\n' for mid, port in modems)
    config.write_text(f'[storage]\ndatabase = "gw.db"\n{entries}{extra}', encoding="utf-8")
    config.chmod(0o600)
    return config


def doctor(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", "-c", str(config), *args])
    return result.exit_code, result.output


def test_a_good_modem_passes_every_check(tmp_path: Path, emulators: dict[str, ModemEmulator]) -> None:
    emulators["good"].set_ussd_reply("*140#", "Your balance is 12,000 Rials")
    config = write_config(tmp_path, [("good", str(emulators["good"].link))])
    config.write_text(config.read_text() + 'balance_ussd = "*140#"\n')
    code, out = doctor(config)
    assert code == 0 and "the gateway can serve" in out, out
    for line in ("answers AT   EmuCorp", "SIM ready", "registered (home) on Emu Mobile", "SMS centre   +989350001000",
                 "SIM storage  0/50", "balance      12000 IRR", "no [crm] url"):  # fmt: skip
        assert line in out, (line, out)
    assert "FAIL" not in out and "WARN" not in out


def test_each_bad_state_gets_its_verdict_and_fix(tmp_path: Path, emulators: dict[str, ModemEmulator]) -> None:
    emulators["nonet"].set_registration(0)
    for i in range(3):
        emulators["full"].inject_sms("+989121234567", f"1 4821{i}")
    config = write_config(
        tmp_path,
        [(name, str(e.link)) for name, e in emulators.items()] + [("gone", str(tmp_path / "unplugged"))],
    )
    code, out = doctor(config)
    assert code == 0, out  # two modems are ready: it can serve
    assert "FAIL  pin        SIM          the SIM asks for a PIN and none is configured" in out
    assert 'fix: add pin = "...." to the [[modems]] entry of pin' in out
    assert "FAIL  nonet      network      not registered (AT+CREG 0)" in out
    assert "WARN  full       SIM storage  3/3 messages" in out and "empties the SIM" in out
    assert f"FAIL  gone       port         {tmp_path / 'unplugged'} does not exist" in out
    assert "ls -l /dev/serial/by-id/" in out


def test_it_cannot_serve_when_no_modem_is_ready_and_json_says_why(
    tmp_path: Path, emulators: dict[str, ModemEmulator]
) -> None:
    emulators["nonet"].set_registration(3)
    config = write_config(tmp_path, [("pin", str(emulators["pin"].link)), ("nonet", str(emulators["nonet"].link))])
    code, out = doctor(config, "--json")
    report = json.loads(out)
    assert code == 1 and report["can_serve"] is False
    failed = {(c["subject"], c["name"]): c for c in report["checks"] if c["status"] == "fail"}
    assert failed[("nonet", "network")]["fix"] == "the SIM may be barred or unpaid: call the operator"
    assert ("pin", "SIM") in failed


def test_a_configured_pin_is_trusted_but_never_shown_nor_entered(
    tmp_path: Path, emulators: dict[str, ModemEmulator]
) -> None:
    config = write_config(
        tmp_path,
        [("pin", str(emulators["pin"].link))],
        '[crm]\nurl = "http://127.0.0.1:9"\ntoken = "t0ken-secret"\nsecret = "hmac-secret"\n',
    )
    config.write_text(config.read_text().replace('port = "', 'pin = "4321"\nport = "', 1))
    os.chmod(config, 0o644)  # readable by others, with secrets inside
    code, out = doctor(config)
    assert code == 0 and "the gateway can serve" in out  # a SIM with its PIN configured is ready to serve
    assert "WARN  pin        SIM          the SIM asks for its PIN; the gateway will enter the configured one" in out
    assert "WARN  pin        network      not checked: the SIM waits for its PIN" in out
    assert "SMS centre" not in out  # nothing asked of a locked SIM is reported as its fault
    assert "WARN  config     permissions" in out and f"chmod 640 {config}" in out
    assert "WARN  crm        link         http://127.0.0.1:9 does not answer" in out
    assert "4321" not in out and "t0ken-secret" not in out and "hmac-secret" not in out
    assert emulators["pin"].sim_locked()  # the doctor never typed the PIN


def test_a_bad_config_fails_first_with_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[site]\nid = "abcd"\n')
    code, out = doctor(config)
    assert code == 1 and f"FAIL  config     loads        {config}: site.id" in out


async def test_with_the_daemon_running_it_reports_the_daemons_view_and_leaves_the_ports_alone(
    tmp_path: Path,
) -> None:
    import asyncio

    from tests.gateway.harness import Harness, eventually

    h = Harness(tmp_path)
    try:
        await h.start()
        await eventually(lambda: _reported(h), timeout=10)
        config = write_config(tmp_path, [(e.modem_id, str(e.link)) for e in h.emulators])
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["doctor", "-c", str(config), "--db", str(h.database)]
        )
        assert result.exit_code == 0, result.output
        assert (
            f"ok    daemon     running      a gateway daemon runs on this database (pid {os.getpid()})" in result.output
        )
        assert (
            "ok    m1         daemon report ready" in result.output
            and "ok    m2         daemon report ready" in result.output
        )
    finally:
        await h.stop()
        h.close()


async def _reported(h: object) -> bool:
    rows = await h.sql("SELECT COUNT(*) FROM sim_status WHERE state = 'ready'")  # type: ignore[attr-defined]
    return bool(rows[0][0] == 2)


def test_a_stable_name_is_not_warned_about_and_a_missing_database_is_not_created(
    tmp_path: Path, emulators: dict[str, ModemEmulator]
) -> None:
    (tmp_path / "gsm").mkdir()
    (tmp_path / "gsm" / "m1").symlink_to(emulators["good"].link)  # as a udev SYMLINK+= rule makes it
    config = write_config(tmp_path, [("m1", str(tmp_path / "gsm" / "m1"))])
    code, out = doctor(config)
    assert code == 0 and "port name" not in out
    assert f"ok    database   opens        {tmp_path / 'gw.db'} does not exist yet" in out
    assert not (tmp_path / "gw.db").exists()  # doctor (perhaps run as root) leaves the creating to the daemon


def test_a_lock_file_it_may_not_read_is_a_clear_failure(tmp_path: Path, emulators: dict[str, ModemEmulator]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file: the operator without the gateway's group cannot be played here")
    config = write_config(tmp_path, [("good", str(emulators["good"].link))])
    lock = tmp_path / "gw.db.lock"
    lock.write_text("{}")
    lock.chmod(0)
    code, out = doctor(config)
    assert code == 1 and "FAIL  database   lock" in out and "run doctor as the gateway's user" in out


async def test_without_c_it_reports_the_running_daemons_modems_not_a_missing_config(tmp_path: Path) -> None:
    """`gateway doctor --db` beside a `gateway run --simulate` (or without the daemon's -c):
    the daemon's view, not "no [[modems]] configured"."""
    import asyncio

    from tests.gateway.harness import Harness, eventually

    h = Harness(tmp_path)
    try:
        await h.start()
        await eventually(lambda: _reported(h), timeout=10)
        result = await asyncio.to_thread(CliRunner().invoke, main, ["doctor", "--db", str(h.database)])
        assert result.exit_code == 0, result.output
        assert "no [[modems]] configured" not in result.output
        assert "ok    m1         daemon report ready" in result.output
        assert "ok    m2         daemon report ready" in result.output
    finally:
        await h.stop()
        h.close()
