"""gateway.toml: the example documents every setting, and mistakes name the file, key and fix."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from gateway import config as cfg
from gateway.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "gateway.toml.example"


def test_example_loads() -> None:
    config = cfg.load(EXAMPLE)
    assert config.modems[0].id == "m1" and config.modems[0].pin is None


def test_example_lists_every_setting() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    for section, cls in cfg.SECTIONS.items():
        names = {f.name for f in dataclasses.fields(cls)}
        assert set(raw[section]) == names, f"[{section}] in gateway.toml.example"
    assert set(raw["modems"][0]) == set(cfg.MODEM_KEYS)
    assert raw["operators"], "[operators] shows at least one network"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gateway.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[site]\nid = "abc"\n', "site.id", "1-3 digits"),
        ('[site]\nlanguage = "de"\n', "site.language", "fa, ar, en"),
        ('[site]\ntimezone = "Mars/Olympus"\n', "site.timezone", "IANA"),
        ('[site]\nregion = "XX"\n', "site.region", "two-letter"),
        ('[site]\nlangauge = "fa"\n', "site.langauge", "did you mean 'language'"),
        ('[sitee]\nid = "1"\n', "sitee", "did you mean 'site'"),
        ("[receive]\nsweep_interval = 0\n", "receive.sweep_interval", "more than 0"),
        ('[receive]\nsweep_interval = "fast"\n', "receive.sweep_interval", "a number"),
        ('[logging]\nlog_privacy = "no"\n', "logging.log_privacy", "true or false"),
        ('[[modems]]\nport = "/dev/ttyUSB0"\n', "modems[1].id", "required"),
        ('[[modems]]\nid = "m1"\nport = "/dev/x"\nbaudrate = 12345\n', "modems[1].baudrate", "serial speed"),
        ('[[modems]]\nid = "m1"\nport = "/dev/x"\npin = 1234\n', "modems[1].pin", "quoted"),
        ('[[modems]]\nid = "m1"\nport = "/a"\n[[modems]]\nid = "m1"\nport = "/b"\n', "modems[2].id", "used twice"),
        ('[[modems]]\nid = "m1"\nport = "/a"\nnumber = "0912"\n', "modems[1].number", "E.164"),
        ('[crm]\nurl = "crm.example/api"\n', "crm.url", "http(s) URL"),
        ('[crm]\nurl = "https://crm.example/api?key=1"\n', "crm.url", "query"),
        ('[crm]\nurl = "https://crm example/api"\n', "crm.url", "space"),
        ('[crm]\nurl = "https://crm:99999/api"\n', "crm.url", "not a URL"),
        ('[crm]\ntoken = "abc def"\n', "crm.token", "printable ASCII"),
        ("[crm]\nprobe_interval = nan\n", "crm.probe_interval", "finite"),
        ("[crm]\ntimeout = 3600\n", "crm.timeout", "at most 300"),
        ('[crm]\nca_file = "missing.pem"\n', "crm.ca_file", "does not exist"),
        ('[broadcast]\nwindow = "7-23"\n', "broadcast.window", "HH:MM"),
        ('[metrics]\nlisten = "localhost"\n', "metrics.listen", "HOST:PORT"),
        ("[retention]\noutbox_days = -1\n", "retention.outbox_days", "0 (keep)"),
    ],
)
def test_errors_name_file_key_and_fix(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        cfg.load(path)
    assert err.value.key == key
    assert str(path) in str(err.value)
    assert words in str(err.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        cfg.load(_write(tmp_path, "[site\n"))
    with pytest.raises(ConfigError, match="file not found"):
        cfg.load(tmp_path / "nope.toml")


def test_relative_database_is_beside_the_config(tmp_path: Path) -> None:
    config = cfg.load(_write(tmp_path, '[storage]\ndatabase = "data/gw.db"\n'))
    assert config.database_path == tmp_path / "data" / "gw.db"


def test_modem_inherits_receive_and_send_defaults(tmp_path: Path) -> None:
    text = '[receive]\nsweep_interval = 3\n[send]\nsend_timeout = 20\n[[modems]]\nid = "m1"\nport = "/dev/x"\n'
    modem = cfg.load(_write(tmp_path, text)).modems[0]
    assert (modem.sweep_interval, modem.send_timeout, modem.baudrate) == (3.0, 20.0, 115200)


def test_each_sims_policy_takes_quotas_unless_its_modem_sets_its_own(tmp_path: Path) -> None:
    text = (
        '[quotas]\nper_minute = 7\nper_day = 300\n[operators]\nMCI = ["+98912"]\n'
        '[[modems]]\nid = "m1"\nport = "/dev/a"\n'
        '[[modems]]\nid = "m2"\nport = "/dev/b"\nper_day = 50\noperator = "MCI"\nbalance_ussd = "*۱۴۰#"\n'
    )
    config = cfg.load(_write(tmp_path, text))
    assert config.sim("m1") == cfg.SimPolicy(per_minute=7, per_day=300)
    assert config.sim("m2") == cfg.SimPolicy(per_minute=7, per_day=50, operator="MCI", balance_ussd="*140#")
    assert config.with_modems(config.modems[:1], per_minute=1000).sims == {"m1": cfg.SimPolicy(1000, 300)}


def test_a_token_with_a_trailing_newline_is_trimmed_and_secrets_never_show(tmp_path: Path) -> None:
    path = _write(tmp_path, '[crm]\nurl = "https://crm.example/api"\ntoken = "t0ken\\n"\nsecret = " s3cret "\n')
    config = cfg.load(path, environ={})
    assert (config.crm.token, config.crm.secret) == ("t0ken", "s3cret")
    assert "t0ken" not in repr(config) and "s3cret" not in repr(config)
    bad = _write(tmp_path, "[crm]\ntoken = 12345\n")
    with pytest.raises(ConfigError) as err:
        cfg.load(bad)
    assert "12345" not in str(err.value) and "(hidden)" in str(err.value)


def test_environment_overrides_and_an_empty_url_turns_sync_off(tmp_path: Path) -> None:
    path = _write(tmp_path, '[crm]\nurl = "https://crm.example/api"\n')
    env = {"GATEWAY_CRM_TOKEN": "from-env", "GATEWAY_CRM_SECRET": "s"}
    assert cfg.load(path, environ=env).crm.token == "from-env"
    assert not cfg.load(path, environ={"GATEWAY_CRM_URL": ""}).crm.enabled


def test_a_ca_file_that_is_not_pem_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"\x30\x82\x01\x0a binary DER")
    path = _write(tmp_path, '[crm]\nurl = "https://crm.example"\nca_file = "ca.crt"\n')
    with pytest.raises(ConfigError, match="not a usable PEM CA bundle"):
        cfg.load(path)
