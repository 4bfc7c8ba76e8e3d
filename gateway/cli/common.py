"""What every command module of the CLI shares: option decorators, output helpers.

Light on purpose: ``gateway --help`` imports this and the command modules only, so
anything heavy (Rich, the store, asyncio, the configuration's validators) is imported
inside the function that needs it (tests/gateway/test_cli_imports.py keeps it so).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.exceptions import DatabaseMissing, GatewayError

if TYPE_CHECKING:
    from rich.console import Console

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# How this face names what the library's messages name by field (exceptions.Wording)
FLAGS = {
    "rate": "--rate",
    "every": "--every",
    "until": "--until",
    "times": "--times",
    "var": "--var",
    "make_group": "contacts import --group NAME",
    "choose_database": "-c / --db",
    "overwrite": "pass --force",
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


class Group(click.Group):
    """Turns the gateway's own errors (a database SQLite cannot read among them: the store
    raises ``DatabaseCorrupt``/``DatabaseUnreadable``) into one clear line and exit 1
    instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseMissing as exc:
            raise click.ClickException(
                f"{exc}. Point at the gateway's database with -c gateway.toml (its [storage] database) "
                "or --db PATH; only `gateway run` creates one."
            ) from None
        except GatewayError as exc:
            raise click.ClickException(exc.wording.naming(FLAGS)) from None
        except Exception as exc:
            # sim_bank is looked up, not imported (``gateway --help`` does not need it):
            # a command that never imported it cannot have raised its errors
            sim_bank = sys.modules.get("sim_bank.exceptions")
            if sim_bank is not None and isinstance(exc, sim_bank.SimBankError):
                raise click.ClickException(str(exc)) from None
            raise


def console() -> Console:
    # piped or redirected output is not truncated to 80 columns
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 250)


def stderr_console() -> Console:
    """A Rich console on stderr, for progress bars."""
    from rich.console import Console

    return Console(stderr=True)


def echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def with_config(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-c/--config`` and ``--db`` for commands that need the configuration or the database."""

    @click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="GATEWAY_CONFIG",
        help="gateway.toml to use [env: GATEWAY_CONFIG]; without it, built-in defaults.",
    )
    @click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="GATEWAY_DB",
        help="SQLite database, overriding the config [env: GATEWAY_DB; default: ./gateway.db].",
    )
    @functools.wraps(f)
    def wrapper(*args: Any, config_path: Path | None, db: Path | None, **kwargs: Any) -> Any:
        from gateway import config as config_mod

        config = config_mod.load(config_path)
        if db is not None:
            config = config.with_database(db.resolve())
        return f(*args, config=config, **kwargs)

    return wrapper


class LazyChoice(click.Choice[str]):
    """A :class:`click.Choice` whose choices are a constant of a library module, read when
    first needed (parsing a value, help, completion) instead of when the command is defined:
    ``gateway --help`` must not import the store to list its commands.

    Example: ``type=LazyChoice("gateway.store.sync", "SYNC_STATES")``
    """

    def __init__(self, module: str, name: str, case_sensitive: bool = True) -> None:
        self._where = (module, name)
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            import importlib

            module, name = self._where
            self._choices = tuple(getattr(importlib.import_module(module), name))
        return self._choices

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        self._choices = tuple(value)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``2d`` (a bare number is minutes): ``--since``, ``--every``."""
    m = _DURATION.match(text)
    if not m:
        raise click.ClickException(f"{text!r} is not a duration: write e.g. 30m, 6h or 2d")
    value, unit = float(m.group(1)), m.group(2) or "m"
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def parse_local_time(text: str, tz: tzinfo) -> datetime:
    """``2026-11-24 18:00`` in the site's time zone ``tz``: ``--until``."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise click.ClickException(f"{text!r} is not a time: write YYYY-MM-DD HH:MM (site time)")


def parse_moment(text: str | None, timezone: str, flag: str) -> datetime | None:
    """``--since``/``--until``: a duration ago (``6h``, ``2d``) or an ISO time, in ``timezone``
    (the site's) when it names none (``2026-12-01``, ``2026-12-01T08:00``, ``...+03:30``);
    digits in any script."""
    if text is None:
        return None
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from gateway.config.reader import ascii_digits

    text = ascii_digits(text)
    try:
        return datetime.now(UTC) - parse_duration(text)
    except click.ClickException:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a time nor a duration: write e.g. 2026-12-01T08:00, 2026-12-01 or 6h",
            param_hint=f"'{flag}'",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(timezone))
