"""What every command module of the CLI shares: option decorators, output helpers."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from sim_bank.exceptions import SimBankError

from . import config as config_mod
from .exceptions import DatabaseMissing, GatewayError
from .store.base import corruption

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Group(click.Group):
    """Turns the gateway's own errors, and a database SQLite cannot read, into one clear
    line and exit 1 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseMissing as exc:
            raise click.ClickException(
                f"{exc}. Point at the gateway's database with -c gateway.toml (its [storage] database) "
                "or --db PATH; only `gateway run` creates one."
            ) from None
        except (GatewayError, SimBankError) as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # damaged, not a database, locked past busy_timeout, disk I/O
            raise click.ClickException(database_trouble(exc)) from None


def database_trouble(exc: sqlite3.DatabaseError) -> str:
    """One line for a failure SQLite reported, with the fix where the kind says it."""
    if corruption(exc):
        return (
            f"the database is damaged ({exc}): run `gateway doctor` for the check, then restore the last backup "
            "or salvage it with sqlite3 .recover"
        )
    return f"database error: {exc}"


def console() -> Console:
    # piped or redirected output is not truncated to 80 columns
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 250)


def echo_json(data: Any) -> None:
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
        config = config_mod.load(config_path)
        if db is not None:
            config = config.with_database(db.resolve())
        return f(*args, config=config, **kwargs)

    return wrapper
