"""The files a sysadmin installs: the systemd units and the udev rules."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_the_service_restarts_always_as_an_unprivileged_user_in_dialout() -> None:
    service = unit("sms-gateway.service")["Service"]
    assert service["Restart"] == "always" and unit("sms-gateway.service")["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["User"] == "sms-gateway" and service["SupplementaryGroups"] == "dialout"
    assert service["StateDirectory"] == "sms-gateway" and service["ConfigurationDirectory"] == "sms-gateway"
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) > 60  # longer than a send may take
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/bin/gateway") and argv[1:] == ["run", "-c", "/etc/sms-gateway/gateway.toml"]
    # the command line is one the CLI accepts
    assert CliRunner().invoke(main, [*argv[1:], "--help"]).exit_code == 0


def test_the_backup_timer_runs_a_backup_command_the_cli_accepts() -> None:
    shell = shlex.split(unit("sms-gateway-backup.service")["Service"]["ExecStart"])
    assert shell[:2] == ["/bin/sh", "-c"]
    [backup] = [part for part in shell[2].split("&&") if "gateway backup" in part]
    argv = shlex.split(backup.replace("%%", "%"))
    assert argv[0].endswith("/bin/gateway") and argv[1:4] == ["backup", "-c", "/etc/sms-gateway/gateway.toml"]
    bad = CliRunner().invoke(main, [*argv[1:], "--no-such-option", "--help"])
    assert bad.exit_code == 2  # so a misspelt option would show here
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0 and "Copy the database to PATH" in result.output
    assert unit("sms-gateway-backup.timer")["Timer"]["Persistent"] == "true"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    gateway = Path(sys.executable).parent / "gateway"
    if not gateway.exists():
        pytest.skip("the gateway command is not installed beside this Python")
    for name in ("sms-gateway.service", "sms-gateway-backup.service", "sms-gateway-backup.timer"):
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/opt/sms-gateway/venv/bin/gateway", str(gateway))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in ("sms-gateway.service",
                                                                              "sms-gateway-backup.timer"))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    problems = [line for line in result.stderr.splitlines() if "sms-gateway" in line]
    assert result.returncode == 0 and problems == [], result.stderr


def test_the_udev_rules_keep_modemmanager_off_and_name_the_modems() -> None:
    rules = [
        line
        for line in (DEPLOY / "99-sms-gateway.rules").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert rules and all(r.startswith('SUBSYSTEM=="tty"') for r in rules)
    assert all(re.fullmatch(r'(\s*[A-Z_]+(\{[\w]+\})?(==|\+=|=)"[^"]*",?)+', r) for r in rules), "one rule per line"
    assert sum('ENV{ID_MM_DEVICE_IGNORE}="1"' in r for r in rules) >= 5
    named = [r for r in rules if "SYMLINK+=" in r]
    assert named and all('GROUP="dialout"' in r and 'SYMLINK+="gsm/' in r for r in named)
