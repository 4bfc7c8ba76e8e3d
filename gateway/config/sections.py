"""The settings of ``gateway.toml``: one frozen dataclass per section, defaults as named constants.

:mod:`gateway.config.reader` fills them from the file; ``gateway.toml.example`` lists every
setting (a test checks that it does and that it loads).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim_bank.health import DEFAULT_BASE, DEFAULT_CAP, DEFAULT_STRIKES

if TYPE_CHECKING:
    from sim_bank import ModemConfig
    from sim_bank.health import HealthPolicy

LANGUAGES = ("fa", "ar", "en")
DEFAULT_PER_MINUTE = 10  # SMS parts per rolling minute, per SIM (gateway.outbound.quotas)
DEFAULT_PER_DAY = 500  # SMS parts per local calendar day, per SIM (Iran's regulator caps a SIM at 500)
DEFAULT_REPLY_RESERVE = 0.2  # share of per_day and of every minute only replies may use
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
DEFAULT_CELL_BROADCAST = "4370-4399"  # TS 23.041 public warning (presidential to test); national ranges added
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "console")


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
class SimPolicy:
    """What the gateway may do with one SIM, from its ``[[modems]]`` entry (how to reach the
    modem is :class:`sim_bank.ModemConfig`'s): operator limits, network, balance checks."""

    per_minute: int = DEFAULT_PER_MINUTE  # SMS parts per rolling minute ([quotas] unless set)
    per_day: int = DEFAULT_PER_DAY  # SMS parts per calendar day (site time zone)
    reply_reserve: float = DEFAULT_REPLY_RESERVE  # share of per_day and of each minute kept for replies
    operator: str | None = None  # this SIM's network, for on-net sending ([operators] prefixes)
    balance_ussd: str | None = None  # e.g. "*140#": polled on a schedule, parsed, stored
    low_balance: float | None = None  # warn below this balance (rials for Iranian SIMs)


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
class WebConfig:
    """``gateway serve``: the HTTP API (and the console) beside the daemon."""

    listen: str = "127.0.0.1:8080"  # "8080" (on 127.0.0.1) or "HOST:PORT"
    tls_cert: str = ""  # PEM certificate (chain); with tls_key, serve HTTPS itself
    tls_key: str = field(default="", repr=False)  # its private key (a path; the file is the secret)
    proxies: str = ""  # comma-separated addresses of reverse proxies whose X-Forwarded-For is believed
    broadcast_approval: bool = False  # a broadcast made through the API waits for a second supervisor
    session_hours: float = 12.0  # a console sign-in lasts this long (a shift), then signs in again
    login_attempts: int = 5  # failed sign-ins per name and per address in login_window before a pause
    login_window: float = 900.0  # seconds
    locale_dir: str = ""  # the organisation's own console wording: fa.toml, ar.toml, en.toml over the shipped


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


@dataclass(frozen=True)
class CapConfig:
    """CAP 1.2 alerts in (gateway cap ingest, POST /api/v1/cap): docs/cap.md."""

    areas: dict[str, str] = field(default_factory=dict)  # a CAP <areaDesc> -> our area (contacts' area)
    notify: bool = True  # an Actual Alert or Update also sends the outage's notices


@dataclass(frozen=True)
class CellBroadcastConfig:
    """Public-warning cell broadcasts the modems listen to (gateway cap received): docs/cell-broadcast.md."""

    channels: str = DEFAULT_CELL_BROADCAST  # message identifiers (TS 23.041), "4370-4399,919"; empty: none


@dataclass(frozen=True)
class OutagesConfig:
    check_window: float = 21600.0  # seconds after a restoration check in which a 1 is a still-out report
    suggest_window: float = 600.0  # seconds of reports the early warning counts
    suggest_reports: int = 10  # distinct phones reporting from an area without an outage: suggest one


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
    web: WebConfig = field(default_factory=WebConfig)
    cap: CapConfig = field(default_factory=CapConfig)
    outages: OutagesConfig = field(default_factory=OutagesConfig)
    cell_broadcast: CellBroadcastConfig = field(default_factory=CellBroadcastConfig)
    operators: dict[str, tuple[str, ...]] = field(default_factory=dict)  # operator -> number prefixes
    areas: dict[str, tuple[str, ...]] = field(default_factory=dict)  # area -> account-number prefixes
    modems: tuple[ModemConfig, ...] = ()  # how to reach each modem (sim_bank's)
    sims: dict[str, SimPolicy] = field(default_factory=dict)  # modem id -> its SIM's policy (the gateway's)

    @property
    def health_policy(self) -> HealthPolicy:
        from sim_bank.health import HealthPolicy

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

    def sim(self, modem_id: str) -> SimPolicy:
        """The policy of ``modem_id``'s SIM; the defaults for a modem with none (one built in
        code: the reader gives every ``[[modems]]`` entry its own, unset keys from [quotas])."""
        return self.sims.get(modem_id) or SimPolicy()

    def with_modems(self, modems: tuple[ModemConfig, ...], **policy: Any) -> Config:
        """Only ``modems``, each SIM keeping its policy here (by id), with ``policy``'s settings
        on every one: ``config.with_modems(modems, per_minute=1000)``."""
        sims = {m.id: dataclasses.replace(self.sim(m.id), **policy) for m in modems}
        return dataclasses.replace(self, modems=modems, sims=sims)

    def with_database(self, database: Path) -> Config:
        return dataclasses.replace(self, storage=dataclasses.replace(self.storage, database=str(database)))


SECTIONS: dict[str, type] = {  # [section] -> its dataclass
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
    "web": WebConfig,
    "cap": CapConfig,
    "outages": OutagesConfig,
    "cell_broadcast": CellBroadcastConfig,
}

# [[modems]] keys -> ModemConfig fields (how to reach the modem) or SimPolicy fields (the gateway's)
MODEM_KEYS = {
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
