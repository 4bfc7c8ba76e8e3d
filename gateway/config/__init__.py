"""``gateway.toml``: read once with tomllib, validated into frozen dataclasses.

Every error names the file, the key and what to change. Defaults are the
named constants below; ``gateway.toml.example`` lists every setting (a test
checks that it does and that it loads).
"""

from __future__ import annotations

import contextlib
import dataclasses
import grp
import math
import os
import re
import stat
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.broadcast.estimate import parse_window
from gateway.conversation.text import ascii_digits
from gateway.exceptions import ConfigError, ConfigErrors
from sim_bank import ModemConfig
from sim_bank.health import DEFAULT_BASE, DEFAULT_CAP, DEFAULT_STRIKES, HealthPolicy
from sim_bank.quotas import DEFAULT_PER_DAY, DEFAULT_PER_MINUTE, DEFAULT_REPLY_RESERVE

LANGUAGES = ("fa", "ar", "en")
DEFAULT_DATABASE = "gateway.db"
DEFAULT_BUSY_TIMEOUT = 10.0
DEFAULT_SITE_ID = "1"
DEFAULT_LANGUAGE = "fa"
DEFAULT_REGION = "IR"
DEFAULT_TIMEZONE = "Asia/Tehran"
DEFAULT_SWEEP_INTERVAL = 15.0
DEFAULT_CONCAT_TIMEOUT = 600.0
DEFAULT_SHORT_CODE_MAX_DIGITS = 6
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE = 5.0
DEFAULT_RETRY_MAX = 300.0
DEFAULT_REPLY_AFFINITY = 30.0
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "console")

_MODEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_SITE_ID = re.compile(r"^[0-9]{1,3}$")


class _Problems:
    """Collects the errors of one config so that an operator sees all of them in one run."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        """Run one independent check: its :class:`ConfigError` is kept, and the next runs."""
        try:
            yield
        except ConfigErrors as exc:
            self.errors.extend(exc.errors)
        except ConfigError as exc:
            self.errors.append(exc)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)


@dataclass(frozen=True)
class SiteConfig:
    id: str = DEFAULT_SITE_ID  # 1-3 digits: ticket refs start with it (12-000345)
    name: str = ""
    language: str = DEFAULT_LANGUAGE  # reply language when the message does not tell
    region: str = DEFAULT_REGION  # numbers written without +country are in this region
    timezone: str = DEFAULT_TIMEZONE


@dataclass(frozen=True)
class StorageConfig:
    database: str = DEFAULT_DATABASE  # relative paths are relative to the config file
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT  # seconds to wait for a busy database before backing off
    group: str = ""  # files of customer data are 0640 for this group instead of 0600 (gateway/private_files.py)


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "info"
    format: str = "auto"  # auto: readable on a terminal, JSON lines otherwise
    log_privacy: bool = True  # mask phone numbers (all but the last 3 digits) and message bodies
    file: str = ""  # write logs here instead of stderr


@dataclass(frozen=True)
class ReceiveConfig:
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL  # seconds between SIM sweeps without +CMTI
    concat_timeout: float = DEFAULT_CONCAT_TIMEOUT  # seconds to wait for the missing parts of a long SMS
    short_code_max_digits: int = DEFAULT_SHORT_CODE_MAX_DIGITS  # senders this short are services: no auto-reply


@dataclass(frozen=True)
class RepliesConfig:
    catalogue: str = ""  # keywords.toml to use; empty = the shipped config/keywords.toml


@dataclass(frozen=True)
class SendConfig:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # temporary failures before a message is given up
    retry_base: float = DEFAULT_RETRY_BASE  # seconds before the first retry; doubles each time
    retry_max: float = DEFAULT_RETRY_MAX
    send_timeout: float = 60.0  # seconds a modem may take to answer +CMGS
    reply_affinity: float = DEFAULT_REPLY_AFFINITY  # seconds a reply waits for the busy SIM the customer texted


@dataclass(frozen=True)
class ConversationConfig:
    repeat_window: float = 43200.0  # seconds: the same code and account again from one phone merges
    session_window: float = 600.0  # seconds a menu waits for the customer's next step
    max_tickets_per_hour: int = 5  # per phone; beyond it messages are stored, not answered
    max_replies_per_hour: int = 10  # per phone: what stops reply loops with machines
    reply_max_parts: int = 1  # check-config reports replies longer than this many SMS parts
    account_min_digits: int = 4  # shorter numbers are hours, days, menu choices -- not accounts


@dataclass(frozen=True)
class QuotasConfig:
    per_minute: int = DEFAULT_PER_MINUTE  # SMS parts per rolling minute, per SIM
    per_day: int = DEFAULT_PER_DAY  # SMS parts per calendar day (site time zone), per SIM
    reply_reserve: float = DEFAULT_REPLY_RESERVE  # share of per_day and of each minute kept for replies


@dataclass(frozen=True)
class HealthConfig:
    poll_interval: float = 60.0  # seconds between signal/registration checks of each modem
    strikes: int = DEFAULT_STRIKES  # failed sends in a row before a SIM is quarantined
    quarantine_base: float = DEFAULT_BASE  # first quarantine, seconds; doubles each time in a row
    quarantine_max: float = DEFAULT_CAP


@dataclass(frozen=True)
class BalanceConfig:
    interval: float = 21600.0  # seconds between balance checks of SIMs with balance_ussd


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""  # Prometheus endpoint: "9108" (on 127.0.0.1) or "HOST:PORT"; empty: off


@dataclass(frozen=True)
class RetentionConfig:
    inbound_pdus_days: int = 30  # raw PDUs of routed messages (the messages and tickets stay); 0: keep
    outbox_days: int = 90  # sent, delivered, failed and cancelled outbox rows; 0: keep


@dataclass(frozen=True)
class BroadcastConfig:
    templates: str = ""  # notices file; empty: the shipped config/templates.toml
    public_dir: str = ""  # where the public copy of notices goes; empty: "public" beside the database
    window: str = ""  # default send window for campaigns, e.g. "07:00-23:00"; empty: any hour


@dataclass(frozen=True)
class CrmConfig:
    url: str = ""  # base URL of the CRM's sync API; empty: tickets stay queued locally
    token: str = field(default="", repr=False)  # Authorization: Bearer; or GATEWAY_CRM_TOKEN
    secret: str = field(default="", repr=False)  # HMAC-SHA256 signing key; or GATEWAY_CRM_SECRET
    batch_size: int = 100  # tickets per POST
    timeout: float = 10.0  # seconds per request
    probe_interval: float = 15.0  # seconds between GET /health while the link is down
    pull_interval: float = 30.0  # seconds between GET /updates while the link is up
    backoff_max: float = 300.0  # cap of the retry backoff after errors
    ca_file: str = ""  # CA bundle for a CRM with a private certificate authority

    @property
    def enabled(self) -> bool:
        return bool(self.url)


SECRET_KEYS = frozenset({"token", "secret", "pin"})  # never shown in errors or logs
# Environment variables that override [crm] keys (secrets need not be written in the file).
CRM_ENV = {"url": "GATEWAY_CRM_URL", "token": "GATEWAY_CRM_TOKEN", "secret": "GATEWAY_CRM_SECRET"}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    site: SiteConfig = field(default_factory=SiteConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    receive: ReceiveConfig = field(default_factory=ReceiveConfig)
    replies: RepliesConfig = field(default_factory=RepliesConfig)
    send: SendConfig = field(default_factory=SendConfig)
    conversation: ConversationConfig = field(default_factory=ConversationConfig)
    quotas: QuotasConfig = field(default_factory=QuotasConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)
    crm: CrmConfig = field(default_factory=CrmConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    operators: dict[str, tuple[str, ...]] = field(default_factory=dict)  # operator -> number prefixes
    modems: tuple[ModemConfig, ...] = ()

    @property
    def health_policy(self) -> HealthPolicy:
        h = self.health
        return HealthPolicy(strikes=h.strikes, base=h.quarantine_base, cap=h.quarantine_max)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_path(self) -> Path:
        return self.resolve(self.storage.database)

    @property
    def catalogue_path(self) -> Path | None:
        return self.resolve(self.replies.catalogue) if self.replies.catalogue else None

    @property
    def templates_path(self) -> Path | None:
        return self.resolve(self.broadcast.templates) if self.broadcast.templates else None

    @property
    def public_dir(self) -> Path:
        if self.broadcast.public_dir:
            return self.resolve(self.broadcast.public_dir)
        return self.database_path.parent / "public"

    @property
    def own_numbers(self) -> frozenset[str]:
        return frozenset(m.own_number for m in self.modems if m.own_number)

    def with_modems(self, modems: tuple[ModemConfig, ...]) -> Config:
        return dataclasses.replace(self, modems=modems)

    def with_database(self, database: Path) -> Config:
        return dataclasses.replace(self, storage=dataclasses.replace(self.storage, database=str(database)))


_SECTIONS: dict[str, type] = {
    "site": SiteConfig,
    "storage": StorageConfig,
    "logging": LoggingConfig,
    "receive": ReceiveConfig,
    "replies": RepliesConfig,
    "send": SendConfig,
    "conversation": ConversationConfig,
    "quotas": QuotasConfig,
    "health": HealthConfig,
    "balance": BalanceConfig,
    "crm": CrmConfig,
    "broadcast": BroadcastConfig,
    "retention": RetentionConfig,
    "metrics": MetricsConfig,
}

# [[modems]] keys -> ModemConfig fields
_MODEM_KEYS = {
    "id": "id",
    "port": "port",
    "baudrate": "baudrate",
    "pin": "pin",
    "flow_control": "flow_control",
    "number": "own_number",
    "sweep_interval": "sweep_interval",
    "command_timeout": "command_timeout",
    "send_timeout": "send_timeout",
    "reconnect_max": "reconnect_max",
    "health_interval": "health_interval",
    "per_minute": "per_minute",
    "per_day": "per_day",
    "reply_reserve": "reply_reserve",
    "operator": "operator",
    "balance_ussd": "balance_ussd",
    "low_balance": "low_balance",
}


def load(path: Path | str | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``; ``None`` gives the defaults (no modems). ``GATEWAY_CRM_*``
    variables in ``environ`` (default: the process environment) override ``[crm]``."""
    config = _load_file(path)
    env = os.environ if environ is None else environ
    # a variable set to "" counts too: GATEWAY_CRM_URL= turns sync off whatever the file says
    overrides: dict[str, Any] = {key: env[var].strip() for key, var in CRM_ENV.items() if var in env}
    if not overrides:
        return config
    config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, **overrides))
    problems = _Problems()
    _validate_crm(config, f"{config.path or 'environment'} ({', '.join(CRM_ENV[k] for k in overrides)})", problems)
    problems.raise_any()
    return config


def parse_listen(value: str, where: str = "[metrics] listen") -> tuple[str, int]:
    """``[metrics] listen``: ``9108`` (on 127.0.0.1) or ``HOST:PORT``; port 0 takes a free one."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(where, "metrics.listen", f"{value!r} is not a port or HOST:PORT",
                          'e.g. listen = "127.0.0.1:9108"')  # fmt: skip
    return host, int(port)


def secrets_exposed(config: Config) -> str | None:
    """Why the config file is a risk, or None: it holds a secret (a SIM PIN, the CRM token or
    signing secret, as opposed to ones from the environment) and users other than its owner
    and group can read or write it."""
    import tomllib

    path = config.path
    if path is None:
        return None
    try:
        mode = path.stat().st_mode
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not mode & (stat.S_IROTH | stat.S_IWOTH):
        return None
    crm = raw.get("crm")
    crm = crm if isinstance(crm, dict) else {}
    held = [f"crm.{key}" for key in ("token", "secret") if crm.get(key)]
    modems = raw.get("modems")
    modems = modems if isinstance(modems, list) else []
    if any(isinstance(m, dict) and m.get("pin") for m in modems):
        held.append("a modem's pin")
    if not held:
        return None
    who = "every user of this machine can read it"
    return f"{path} holds secrets ({', '.join(held)}) and {who} (mode {stat.filemode(mode)})"


def _load_file(path: Path | str | None) -> Config:
    if path is None:
        return Config()
    import tomllib

    path = Path(path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, None, "file not found", "pass -c with the path of your gateway.toml") from None
    except UnicodeDecodeError:
        raise ConfigError(where, None, "not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, None, f"not valid TOML: {exc}", "fix the syntax at that line") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> Config:
    """Validate ``raw`` (the TOML of ``path``) into a :class:`Config`. Every error is found in one
    pass: one raises :class:`ConfigError`, several :class:`ConfigErrors`."""
    where = str(path)
    problems = _Problems()
    known = {*_SECTIONS, "modems", "operators"}
    for key in raw:
        if key not in known:
            problems.errors.append(ConfigError(where, key, "unknown section", _did_you_mean(key, known)))
    sections = {name: _build(cls, raw.get(name, {}), where, name, problems) for name, cls in _SECTIONS.items()}
    quotas = sections["quotas"]
    defaults = {
        "sweep_interval": sections["receive"].sweep_interval,
        "send_timeout": sections["send"].send_timeout,
        "health_interval": sections["health"].poll_interval,
        "per_minute": quotas.per_minute,
        "per_day": quotas.per_day,
        "reply_reserve": quotas.reply_reserve,
    }
    operators = _operators(raw.get("operators", {}), where, problems)
    numbered = _modems(raw.get("modems", []), where, defaults, problems)
    for n, modem in numbered:
        if modem.operator is not None and operators and modem.operator not in operators:
            problems.errors.append(ConfigError(
                where,
                f"modems[{n}].operator",
                f"{modem.operator!r} is not in [operators]",
                _did_you_mean(modem.operator, operators),
            ))  # fmt: skip
    crm = sections["crm"]
    sections["crm"] = dataclasses.replace(crm, token=crm.token.strip(), secret=crm.secret.strip())
    modems = tuple(m for _n, m in numbered)
    config = Config(path=path.resolve(), modems=modems, operators=operators, **sections)
    _validate(config, where, problems, [n for n, _m in numbered])
    problems.raise_any()
    return config


def _did_you_mean(key: str, choices: typing.Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(choices), n=1)
    known = ", ".join(sorted(choices))
    return f"did you mean '{close[0]}'?" if close else f"known keys: {known}"


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(t, str(t))


def _coerce(value: Any, hint: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        hint = options[0]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(where, key, f"must be a finite number, not {value}")
    shown = "(hidden)" if key.rsplit(".", 1)[-1] in SECRET_KEYS else repr(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(where, key, f"must be true or false, not {shown}")
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(where, key, f"must be {_type_name(hint)}, not {shown}")
    if not isinstance(value, hint):
        raise ConfigError(where, key, f"must be {_type_name(hint)}, not {shown}")
    return value


def _build(cls: type, table: Any, where: str, section: str, problems: _Problems) -> Any:
    """The section as ``cls``; a bad setting is reported and keeps its default (so that the
    checks after it still run)."""
    if not isinstance(table, dict):
        problems.errors.append(ConfigError(where, section, "must be a table", f"write it as [{section}]"))
        return cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        with problems.check():
            if key not in names:
                raise ConfigError(where, f"{section}.{key}", "unknown setting", _did_you_mean(key, names))
            values[key] = _coerce(value, hints[key], where, f"{section}.{key}")
    return cls(**values)


def _modems(entries: Any, where: str, defaults: dict[str, Any], problems: _Problems) -> list[tuple[int, ModemConfig]]:
    """The valid ``[[modems]]``, each with its number (``modems[2]``); the others are reported."""
    if not isinstance(entries, list):
        problems.errors.append(
            ConfigError(where, "modems", "must be a list of tables", "write each modem as [[modems]]")
        )
        return []
    hints = typing.get_type_hints(ModemConfig)
    out: list[tuple[int, ModemConfig]] = []
    seen: set[str] = set()
    ports: dict[str, tuple[str, str]] = {}  # the device a port names -> (modem key, port as written)
    for n, entry in enumerate(entries, start=1):
        key = f"modems[{n}]"
        before = len(problems.errors)
        if not isinstance(entry, dict):
            problems.errors.append(ConfigError(where, key, "must be a table", "write it as [[modems]]"))
            continue
        values: dict[str, Any] = dict(defaults)
        for k, v in entry.items():
            with problems.check():
                if k not in _MODEM_KEYS:
                    raise ConfigError(where, f"{key}.{k}", "unknown setting", _did_you_mean(k, _MODEM_KEYS))
                target = _MODEM_KEYS[k]
                if target == "pin" and isinstance(v, int) and not isinstance(v, bool):
                    raise ConfigError(
                        where, f"{key}.pin", "must be a quoted string", 'write pin = "0123" (quotes keep a leading 0)'
                    )
                values[target] = _coerce(v, hints[target], where, f"{key}.{k}")
        missing = [r for r in ("id", "port") if values.get(r) in ("", None)]
        for required in missing:
            problems.errors.append(ConfigError(
                where, f"{key}.{required}", "is required", 'e.g. id = "m1", port = "/dev/serial/by-id/..."'
            ))  # fmt: skip
        if missing:
            continue
        if values.get("pin") == "":
            values["pin"] = None
        if values.get("balance_ussd"):
            code = ascii_digits(str(values["balance_ussd"])).replace(" ", "")
            if re.fullmatch(r"[0-9*#+]+", code):
                values["balance_ussd"] = code
            else:
                problems.errors.append(ConfigError(where, f"{key}.balance_ussd",
                                       f"{values['balance_ussd']!r} is not a USSD code",
                                       'digits, * and # only, e.g. balance_ussd = "*140*11#"'))  # fmt: skip
        modem = ModemConfig(**values)
        if not _MODEM_ID.match(modem.id):
            problems.errors.append(ConfigError(
                where, f"{key}.id", f"{modem.id!r} is not a usable id", "use letters, digits, - _ . (at most 32)"
            ))  # fmt: skip
        if modem.id in seen:
            problems.errors.append(
                ConfigError(where, f"{key}.id", f"{modem.id!r} is used twice", "give every modem its own id")
            )
        if modem.baudrate not in BAUDRATES:
            problems.errors.append(ConfigError(
                where, f"{key}.baudrate", f"{modem.baudrate} is not a serial speed", f"use one of {BAUDRATES}"
            ))  # fmt: skip
        if modem.own_number and not re.fullmatch(r"\+[1-9][0-9]{6,14}", modem.own_number):
            problems.errors.append(ConfigError(
                where, f"{key}.number", f"{modem.own_number!r} is not +E.164", 'write it as "+989121234567"'
            ))  # fmt: skip
        device = port_device(modem.port)
        if device in ports:
            other, written = ports[device]
            same = "" if written == modem.port else f" ({written}): the same device"
            problems.errors.append(ConfigError(
                where, f"{key}.port", f"{modem.port} is also {other}'s port{same}",
                "one modem per port: two workers on one serial port garble each other's AT commands",
            ))  # fmt: skip
        ports.setdefault(device, (key, modem.port))
        seen.add(modem.id)
        if len(problems.errors) == before:
            out.append((n, modem))
    return out


def port_device(port: str) -> str:
    """What a modem's port names, to find two modems on one: a local device with its links
    resolved (``/dev/serial/by-id/...`` is ``/dev/ttyUSB0``), a network port as written."""
    if "://" in port:
        return port.strip().lower()
    return os.path.realpath(os.path.expanduser(port))


def _operators(table: Any, where: str, problems: _Problems) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        problems.errors.append(ConfigError(where, "operators", "must be a table", 'e.g. [operators] MCI = ["+98912"]'))
        return {}
    out = {}
    for name, prefixes in table.items():
        if not isinstance(prefixes, list) or not all(
            isinstance(p, str) and re.fullmatch(r"\+[0-9]{2,12}", p) for p in prefixes
        ):
            problems.errors.append(ConfigError(
                where, f"operators.{name}", "must be a list of number prefixes", 'write them as "+98912"'
            ))  # fmt: skip
            continue
        out[name] = tuple(prefixes)
    return out


def _validate(config: Config, where: str, problems: _Problems, modem_numbers: Sequence[int] = ()) -> None:
    """Checks across settings, each run whatever the others found."""
    for check in (_check_site, _check_storage, _check_logging, _check_times, _check_conversation, _check_misc):
        with problems.check():
            check(config, where)
    limits: list[tuple[str, QuotasConfig | ModemConfig]] = [("quotas", config.quotas)]
    numbers = list(modem_numbers) or list(range(1, len(config.modems) + 1))
    limits += [(f"modems[{n}]", m) for n, m in zip(numbers, config.modems, strict=True)]
    for key, section in limits:
        if section.per_minute < 1:
            problems.errors.append(
                ConfigError(where, f"{key}.per_minute", f"must be at least 1, not {section.per_minute}")
            )
        if section.per_day < 1:
            problems.errors.append(ConfigError(where, f"{key}.per_day", f"must be at least 1, not {section.per_day}"))
        if not 0 <= section.reply_reserve < 1:
            problems.errors.append(ConfigError(
                where, f"{key}.reply_reserve", "must be a share from 0 to below 1", "e.g. 0.2 keeps 20% for replies"
            ))  # fmt: skip
    _validate_crm(config, where, problems)


def _check_site(config: Config, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import phonenumbers

    site = config.site
    problems = _Problems()
    if not _SITE_ID.match(site.id):
        problems.errors.append(ConfigError(
            where, "site.id", f"{site.id!r} must be 1-3 digits", 'ticket refs start with it: id = "12" gives 12-000345'
        ))  # fmt: skip
    if site.language not in LANGUAGES:
        problems.errors.append(ConfigError(
            where, "site.language", f"{site.language!r} is not supported", f"use one of {', '.join(LANGUAGES)}"
        ))  # fmt: skip
    if site.region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.errors.append(ConfigError(
            where, "site.region", f"{site.region!r} is not a region code", 'use a two-letter code such as "IR"'
        ))  # fmt: skip
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.errors.append(ConfigError(
            where, "site.timezone", f"{site.timezone!r} is not a time zone", 'use an IANA name such as "Asia/Tehran"'
        ))  # fmt: skip
    problems.raise_any()


def _check_storage(config: Config, where: str) -> None:
    group = config.storage.group
    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise ConfigError(
                where,
                "storage.group",
                f"no group {group!r} on this machine",
                'create it (groupadd), or leave group = "" for files only the gateway\'s user reads',
            ) from None


def _check_logging(config: Config, where: str) -> None:
    problems = _Problems()
    if config.logging.level not in LOG_LEVELS:
        problems.errors.append(ConfigError(
            where, "logging.level", f"{config.logging.level!r} is not a level", f"use one of {', '.join(LOG_LEVELS)}"
        ))  # fmt: skip
    if config.logging.format not in LOG_FORMATS:
        problems.errors.append(ConfigError(
            where, "logging.format", f"{config.logging.format!r} is not a format",
            f"use one of {', '.join(LOG_FORMATS)}",
        ))  # fmt: skip
    problems.raise_any()


def _check_times(config: Config, where: str) -> None:
    problems = _Problems()
    positive = {
        "storage.busy_timeout": config.storage.busy_timeout,
        "receive.sweep_interval": config.receive.sweep_interval,
        "receive.concat_timeout": config.receive.concat_timeout,
        "send.retry_base": config.send.retry_base,
        "send.retry_max": config.send.retry_max,
        "send.send_timeout": config.send.send_timeout,
    }
    if config.send.reply_affinity < 0:
        problems.errors.append(
            ConfigError(where, "send.reply_affinity", "must be 0 or more", "0 sends replies from any free SIM")
        )
    for key, value in positive.items():
        if value <= 0:
            problems.errors.append(ConfigError(where, key, f"must be more than 0, not {value}"))
    problems.raise_any()


def _check_conversation(config: Config, where: str) -> None:
    problems = _Problems()
    conv = config.conversation
    if conv.repeat_window < 0 or conv.session_window <= 0:
        problems.errors.append(ConfigError(where, "conversation.repeat_window/session_window", "must be positive"))
    if conv.max_tickets_per_hour < 1 or conv.max_replies_per_hour < 1 or conv.reply_max_parts < 1:
        problems.errors.append(ConfigError(where, "conversation", "limits must be at least 1"))
    if not 1 <= conv.account_min_digits <= 20:
        problems.errors.append(ConfigError(where, "conversation.account_min_digits", "must be 1-20"))
    problems.raise_any()


def _check_misc(config: Config, where: str) -> None:
    problems = _Problems()
    if config.health.strikes < 1:
        problems.errors.append(ConfigError(where, "health.strikes", "must be at least 1"))
    if config.send.max_attempts < 1:
        problems.errors.append(ConfigError(where, "send.max_attempts", "must be at least 1"))
    if not 0 <= config.receive.short_code_max_digits <= 8:
        problems.errors.append(ConfigError(where, "receive.short_code_max_digits", "must be 0-8"))
    if config.metrics.listen:
        with problems.check():
            parse_listen(config.metrics.listen, where)
    for key in ("inbound_pdus_days", "outbox_days"):
        if getattr(config.retention, key) < 0:
            problems.errors.append(ConfigError(where, f"retention.{key}", "must be 0 (keep) or more days"))
    if config.broadcast.window:
        try:
            parse_window(config.broadcast.window)
        except ValueError as exc:
            problems.errors.append(ConfigError(where, "broadcast.window", str(exc)))
    problems.raise_any()


def _validate_crm(config: Config, where: str, problems: _Problems) -> None:
    for check in (_check_crm_url, _check_crm_token, _check_crm_numbers, _check_crm_ca):
        with problems.check():
            check(config, where)


def _check_crm_url(config: Config, where: str) -> None:
    crm = config.crm
    if crm.url:
        problem = _url_problem(crm.url)
        if problem:
            raise ConfigError(where, "crm.url", problem, 'e.g. url = "https://crm.example/api/sms"')


def _check_crm_token(config: Config, where: str) -> None:
    crm = config.crm
    if crm.token and not all("!" <= ch <= "~" for ch in crm.token):
        raise ConfigError(where, "crm.token", "must be printable ASCII without spaces (it goes in a header)",
                          "check for a stray newline or space around it")  # fmt: skip


def _check_crm_numbers(config: Config, where: str) -> None:
    crm = config.crm
    problems = _Problems()
    if not 1 <= crm.batch_size <= 1000:
        problems.errors.append(ConfigError(where, "crm.batch_size", f"must be 1-1000, not {crm.batch_size}"))
    limits = {"timeout": 300.0, "probe_interval": 3600.0, "pull_interval": 86400.0, "backoff_max": 86400.0}
    for key, most in limits.items():
        value = getattr(crm, key)
        if not 0 < value <= most:
            problems.errors.append(ConfigError(
                where, f"crm.{key}", f"must be more than 0 and at most {most:g} seconds, not {value}"
            ))  # fmt: skip
    problems.raise_any()


def _check_crm_ca(config: Config, where: str) -> None:
    import ssl

    crm = config.crm
    if crm.ca_file:
        path = config.resolve(crm.ca_file)
        if not path.is_file():
            raise ConfigError(where, "crm.ca_file", f"{crm.ca_file} does not exist", "give the path of a PEM CA bundle")
        try:
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError(where, "crm.ca_file", f"{crm.ca_file} is not a usable PEM CA bundle: {exc}",
                              "convert it: openssl x509 -inform der -in ca.crt -out ca.pem") from None  # fmt: skip


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises for a port that is not a number
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL"
    if any(ch.isspace() for ch in url):
        return "contains a space"
    if parts.query or parts.fragment:
        return "must not have a query (?...) or fragment (#...): the gateway adds /tickets, /updates, /health"
    return None
