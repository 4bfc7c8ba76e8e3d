"""``gateway.toml``: read once with tomllib, validated into frozen dataclasses.

Every error names the file, the key and what to change. The package's face: the settings
(:mod:`~gateway.config.sections`), reading them (:mod:`~gateway.config.reader`) and the
checks across them (:mod:`~gateway.config.checks`); send windows
(:mod:`~gateway.config.window`), the shipped data files (:mod:`~gateway.config.resources`)
and the TOML files beside the config (:mod:`~gateway.config.toml`) are imported by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.config.reader import load, parse, port_device, secrets_exposed
from gateway.config.sections import (
    BAUDRATES,
    CRM_ENV,
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_CONCAT_TIMEOUT,
    DEFAULT_DATABASE,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_REGION,
    DEFAULT_REPLY_AFFINITY,
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_MAX,
    DEFAULT_SHORT_CODE_MAX_DIGITS,
    DEFAULT_SITE_ID,
    DEFAULT_SWEEP_INTERVAL,
    DEFAULT_TIMEZONE,
    LANGUAGES,
    LOG_FORMATS,
    LOG_LEVELS,
    MODEM_KEYS,
    SECRET_KEYS,
    SECTIONS,
    BalanceConfig,
    BroadcastConfig,
    Config,
    ConversationConfig,
    CrmConfig,
    HealthConfig,
    LoggingConfig,
    MetricsConfig,
    QuotasConfig,
    ReceiveConfig,
    RepliesConfig,
    RetentionConfig,
    SendConfig,
    SimPolicy,
    SiteConfig,
    StorageConfig,
)

if TYPE_CHECKING:
    from gateway.config.checks import parse_listen

__all__ = [
    "BAUDRATES",
    "CRM_ENV",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_CONCAT_TIMEOUT",
    "DEFAULT_DATABASE",
    "DEFAULT_LANGUAGE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_REGION",
    "DEFAULT_REPLY_AFFINITY",
    "DEFAULT_RETRY_BASE",
    "DEFAULT_RETRY_MAX",
    "DEFAULT_SHORT_CODE_MAX_DIGITS",
    "DEFAULT_SITE_ID",
    "DEFAULT_SWEEP_INTERVAL",
    "DEFAULT_TIMEZONE",
    "LANGUAGES",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MODEM_KEYS",
    "SECRET_KEYS",
    "SECTIONS",
    "BalanceConfig",
    "BroadcastConfig",
    "Config",
    "ConversationConfig",
    "CrmConfig",
    "HealthConfig",
    "LoggingConfig",
    "MetricsConfig",
    "QuotasConfig",
    "ReceiveConfig",
    "RepliesConfig",
    "RetentionConfig",
    "SendConfig",
    "SimPolicy",
    "SiteConfig",
    "StorageConfig",
    "load",
    "parse",
    "parse_listen",
    "port_device",
    "secrets_exposed",
]


def __getattr__(name: str) -> Any:
    """``parse_listen`` on first use: the checks are not needed to read a config without a file."""
    if name == "parse_listen":
        from gateway.config.checks import parse_listen

        return parse_listen
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
