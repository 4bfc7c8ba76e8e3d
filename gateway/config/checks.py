"""Checks across the settings of one config, each run whatever the others found, so that an
operator sees every problem in one run. Every error names the file, the key and the fix."""

from __future__ import annotations

import contextlib
import grp
import re
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from gateway.config.sections import LANGUAGES, LOG_FORMATS, LOG_LEVELS, Config, QuotasConfig, SimPolicy
from gateway.config.window import parse_window
from gateway.exceptions import ConfigError, ConfigErrors

_SITE_ID = re.compile(r"^[0-9]{1,3}$")


class Problems:
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


def parse_listen(value: str, where: str = "[metrics] listen", key: str = "metrics.listen") -> tuple[str, int]:
    """``[metrics] listen`` or ``[web] listen``: ``9108`` (on 127.0.0.1) or ``HOST:PORT``;
    port 0 takes a free one."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        example = "127.0.0.1:8080" if key.startswith("web.") else "127.0.0.1:9108"
        raise ConfigError(where, key, f"{value!r} is not a port or HOST:PORT", f'e.g. listen = "{example}"')
    return host, int(port)


def validate(config: Config, where: str, problems: Problems, modem_numbers: Sequence[int] = ()) -> None:
    """Checks across settings, each run whatever the others found."""
    for check in (_check_site, _check_storage, _check_logging, _check_times, _check_conversation, _check_misc,
                  _check_cap, _check_cell_broadcast):  # fmt: skip
        with problems.check():
            check(config, where)
    limits: list[tuple[str, QuotasConfig | SimPolicy]] = [("quotas", config.quotas)]
    numbers = list(modem_numbers) or list(range(1, len(config.modems) + 1))
    limits += [(f"modems[{n}]", config.sim(m.id)) for n, m in zip(numbers, config.modems, strict=True)]
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
    validate_crm(config, where, problems)


def _check_site(config: Config, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import phonenumbers

    site = config.site
    problems = Problems()
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
    problems = Problems()
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
    problems = Problems()
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
    problems = Problems()
    conv = config.conversation
    if conv.repeat_window < 0 or conv.session_window <= 0:
        problems.errors.append(ConfigError(where, "conversation.repeat_window/session_window", "must be positive"))
    if conv.max_tickets_per_hour < 1 or conv.max_replies_per_hour < 1 or conv.reply_max_parts < 1:
        problems.errors.append(ConfigError(where, "conversation", "limits must be at least 1"))
    if not 1 <= conv.account_min_digits <= 20:
        problems.errors.append(ConfigError(where, "conversation.account_min_digits", "must be 1-20"))
    problems.raise_any()


def _check_misc(config: Config, where: str) -> None:
    problems = Problems()
    if config.health.strikes < 1:
        problems.errors.append(ConfigError(where, "health.strikes", "must be at least 1"))
    if config.send.max_attempts < 1:
        problems.errors.append(ConfigError(where, "send.max_attempts", "must be at least 1"))
    if not 0 <= config.receive.short_code_max_digits <= 8:
        problems.errors.append(ConfigError(where, "receive.short_code_max_digits", "must be 0-8"))
    if config.metrics.listen:
        with problems.check():
            parse_listen(config.metrics.listen, where)
    with problems.check():
        _check_web(config, where)
    o = config.outages
    for key in ("check_window", "suggest_window"):
        if getattr(o, key) <= 0:
            problems.errors.append(ConfigError(where, f"outages.{key}", "must be more than 0 seconds"))
    if o.suggest_reports < 1:
        problems.errors.append(ConfigError(where, "outages.suggest_reports", "must be at least 1 phone"))
    for key in ("inbound_pdus_days", "outbox_days"):
        if getattr(config.retention, key) < 0:
            problems.errors.append(ConfigError(where, f"retention.{key}", "must be 0 (keep) or more days"))
    if config.broadcast.window:
        try:
            parse_window(config.broadcast.window)
        except ValueError as exc:
            problems.errors.append(ConfigError(where, "broadcast.window", str(exc)))
    problems.raise_any()


def _check_cap(config: Config, where: str) -> None:
    for desc, area in config.cap.areas.items():
        if not isinstance(area, str) or not area.strip() or not desc.strip():
            raise ConfigError(where, f"cap.areas.{desc}", f"must name one of our areas, not {area!r}",
                              'e.g. [cap.areas] "Tehran - North" = "North"')  # fmt: skip


def _check_cell_broadcast(config: Config, where: str) -> None:
    from sim_bank.cbm import parse_channels

    channels = config.cell_broadcast.channels
    if channels.strip():
        try:
            parse_channels(channels)
        except ValueError as exc:
            raise ConfigError(where, "cell_broadcast.channels", str(exc),
                              'e.g. channels = "4370-4399,919" (empty: listen to none)') from None  # fmt: skip


def validate_crm(config: Config, where: str, problems: Problems) -> None:
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
    problems = Problems()
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


def _check_web(config: Config, where: str) -> None:
    """``[web]``: a listen address, TLS as a pair of readable files, sane sign-in limits."""
    problems = Problems()
    web = config.web
    with problems.check():
        parse_listen(web.listen, where, "web.listen")
    if bool(web.tls_cert) != bool(web.tls_key):
        given, missing = ("tls_cert", "tls_key") if web.tls_cert else ("tls_key", "tls_cert")
        problems.errors.append(ConfigError(where, f"web.{missing}", f"web.{given} is set but web.{missing} is not",
                                           "set both (HTTPS) or neither (HTTP behind a proxy)"))  # fmt: skip
    for key in ("tls_cert", "tls_key"):
        value = getattr(web, key)
        if value and not config.resolve(value).is_file():
            problems.errors.append(ConfigError(where, f"web.{key}", f"{config.resolve(value)} is not a file"))
    if web.session_hours <= 0:
        problems.errors.append(ConfigError(where, "web.session_hours", "must be more than 0"))
    if web.login_attempts < 1:
        problems.errors.append(ConfigError(where, "web.login_attempts", "must be at least 1"))
    if web.login_window <= 0:
        problems.errors.append(ConfigError(where, "web.login_window", "must be more than 0 seconds"))
    if web.locale_dir:
        own = config.resolve(web.locale_dir)
        if not own.is_dir():
            problems.errors.append(ConfigError(where, "web.locale_dir", f"{own} is not a directory"))
        else:  # the console reads fa.toml, ar.toml and en.toml there over its own labels
            import tomllib

            for name in ("fa.toml", "ar.toml", "en.toml"):
                try:
                    with (own / name).open("rb") as f:
                        tomllib.load(f)
                except FileNotFoundError:
                    continue
                except (OSError, tomllib.TOMLDecodeError) as exc:
                    problems.errors.append(ConfigError(where, "web.locale_dir", f"{own / name}: {exc}",
                                                       "fix the file (TOML: [labels] key = \"words\")"))  # fmt: skip
    problems.raise_any()
