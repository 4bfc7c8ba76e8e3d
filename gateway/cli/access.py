"""``gateway users``, ``gateway tokens``, ``gateway audit``: who may sign in to the API, and
the log of who changed what.

Who acts is ``--as NAME``, else the login name (``$USER``), as for the desk's commands: the
command line trusts the local account that may write the database. Passwords are read
hidden, twice, or one line from stdin (``--password-stdin``); a token is printed once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, LazyChoice, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod
    from gateway.store import Actor

AS_HELP = "Who makes the change, for the audit log [default: $USER]."
STDIN_HELP = "Read the password from the first line of stdin (for scripts) instead of a prompt."
LANGUAGE_HELP = "The console's language for them: fa, ar or en [default: [site] language]."


def _actor(given: str | None) -> Actor:
    from gateway.cli.ticket_case import actor_name
    from gateway.desk.rules import check_name
    from gateway.store import Actor

    return Actor.local(check_name(actor_name(given)))


def _password(name: str, from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        import sys

        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("--password-stdin: stdin is empty; write the password on its first line")
        return line.rstrip("\r\n")
    password: str = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return password


@click.group(cls=Group, context_settings=CONTEXT)
def users() -> None:
    """People who sign in to the HTTP API and console: agents, supervisors, admins."""


@users.command("add", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--role", required=True, type=LazyChoice("gateway.access.roles", "USER_ROLES"), help="What they may do.")
@click.option("--language", type=LazyChoice("gateway.config", "LANGUAGES"), help=LANGUAGE_HELP)
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def users_add(
    config: config_mod.Config, name: str, role: str, language: str | None, password_stdin: bool, actor: str | None
) -> None:
    """Add a user with a role and a password (at least 12 characters), asked twice.

    Example: gateway users add sara --role agent --language fa

    Example: printf '%s\\n' "$PW" | gateway users add ivr-desk --role supervisor --password-stdin
    """
    import asyncio

    from gateway.access.users import add_user

    who = _actor(actor)
    user = asyncio.run(
        add_user(config, name, role=role, language=language, password=_password(name, password_stdin), actor=who)
    )
    click.echo(f"user {user.name} added: {user.role}, language {user.language} (by {who.name})")


@users.command("list", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON (name, role, language, state, times).")
def users_list(config: config_mod.Config, as_json: bool) -> None:
    """Every user, active and disabled (never a password or its hash).

    Example: gateway users list --json
    """
    import asyncio

    from gateway.access.users import list_users
    from gateway.cli.output import DataTable

    rows = asyncio.run(list_users(config))
    if as_json:
        echo_json([u.as_json() for u in rows])
        return
    table = DataTable("name", "role", "language", "state", "created", "password changed")
    for u in rows:
        state = f"disabled {u.disabled_at[:19]}" if u.disabled_at else "active"
        table.add_row(u.name, u.role, u.language, state, u.created_at[:19], u.password_changed_at[:19])
    console().print(table)
    if not rows:
        click.echo("no users: add one with gateway users add NAME --role admin", err=True)


@users.command("disable", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def users_disable(config: config_mod.Config, name: str, actor: str | None) -> None:
    """Stop a user signing in. The user and what the audit log says they did stay.

    Example: gateway users disable reza
    """
    import asyncio

    from gateway.access.users import disable_user

    who = _actor(actor)
    done = asyncio.run(disable_user(config, name, actor=who))
    click.echo(f"user {done} disabled: they can no longer sign in (by {who.name})")


@users.command("enable", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def users_enable(config: config_mod.Config, name: str, actor: str | None) -> None:
    """Let a disabled user sign in again, with the password they had (set a new one with
    gateway users passwd if it may have leaked).

    Example: gateway users enable reza
    """
    import asyncio

    from gateway.access.users import enable_user

    who = _actor(actor)
    done = asyncio.run(enable_user(config, name, actor=who))
    click.echo(f"user {done} enabled: they may sign in again (by {who.name})")


@users.command("passwd", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def users_passwd(config: config_mod.Config, name: str, password_stdin: bool, actor: str | None) -> None:
    """Set a user's password (at least 12 characters), asked twice.

    Example: gateway users passwd sara
    """
    import asyncio

    from gateway.access.users import change_password, list_users
    from gateway.exceptions import NotFound

    who = _actor(actor)
    known = {u.name.casefold() for u in asyncio.run(list_users(config))}
    if name.strip().casefold() not in known:  # before asking for a password nobody will use
        raise NotFound(f"no user {name!r} in {config.database_path}")
    done = asyncio.run(change_password(config, name, _password(name, password_stdin), actor=who))
    click.echo(f"password of {done} changed (by {who.name})")


@click.group(cls=Group, context_settings=CONTEXT)
def tokens() -> None:
    """Bearer tokens for the HTTP API: for other systems (integration) and scripts."""


@tokens.command("create", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--role", required=True, type=LazyChoice("gateway.access.roles", "TOKEN_ROLES"), help="What it may do.")
@click.option("--language", type=LazyChoice("gateway.config", "LANGUAGES"), help=LANGUAGE_HELP)
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
@click.option("--json", "as_json", is_flag=True, help='Print {"name": ..., "role": ..., "token": ...}.')
def tokens_create(
    config: config_mod.Config, name: str, role: str, language: str | None, actor: str | None, as_json: bool
) -> None:
    """Make a token and print it, this once: only its hash is kept. Without --json the token
    alone goes to stdout (TOKEN=$(gateway tokens create ...)), the words around it to stderr.

    Example: gateway tokens create ivr --role integration --json
    """
    import asyncio

    from gateway.access.tokens import create_token

    who = _actor(actor)
    made = asyncio.run(create_token(config, name, role=role, language=language, actor=who))
    if as_json:
        echo_json(made.as_json())
        return
    click.echo(f"token {made.row.name} ({made.row.role}) created by {who.name}; it is shown this once:", err=True)
    click.echo(made.token)
    click.echo("send it as 'Authorization: Bearer TOKEN'; revoke it with gateway tokens revoke NAME", err=True)


@tokens.command("list", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON (name, role, language, state, times; no secret).")
def tokens_list(config: config_mod.Config, as_json: bool) -> None:
    """Every token, working and revoked, with when it was last used (never the token).

    Example: gateway tokens list
    """
    import asyncio

    from gateway.access.tokens import list_tokens
    from gateway.cli.output import DataTable

    rows = asyncio.run(list_tokens(config))
    if as_json:
        echo_json([t.as_json() for t in rows])
        return
    table = DataTable("name", "role", "state", "created", "by", "last used")
    for t in rows:
        state = f"revoked {t.revoked_at[:19]}" if t.revoked_at else "active"
        table.add_row(t.name, t.role, state, t.created_at[:19], t.created_by, (t.last_used_at or "never")[:19])
    console().print(table)
    if not rows:
        click.echo("no tokens", err=True)


@tokens.command("revoke", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def tokens_revoke(config: config_mod.Config, name: str, actor: str | None) -> None:
    """Revoke a token: from its next request on, it signs nothing in. Its name is not reused.

    Example: gateway tokens revoke ivr
    """
    import asyncio

    from gateway.access.tokens import revoke_token

    who = _actor(actor)
    done = asyncio.run(revoke_token(config, name, actor=who))
    click.echo(f"token {done} revoked (by {who.name})")


@click.group(cls=Group, context_settings=CONTEXT)
def audit() -> None:
    """The audit log: every write, with who, what, to what, when and from where."""


@audit.command("list", context_settings=CONTEXT)
@with_config
@click.option("--since", help="Only entries since: an ISO time (site time if no zone) or a duration (2h, 30m, 2d).")
@click.option("--actor", metavar="NAME", help="Only entries by this user, token or local account.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (id, at, actor, actor_kind, action, target, ...).")
def audit_list(config: config_mod.Config, since: str | None, actor: str | None, limit: int, as_json: bool) -> None:
    """The newest entries of the audit log, newest first.

    Example: gateway audit list --since 1d --actor sara
    """
    import asyncio

    from gateway.access.audit import list_audit
    from gateway.cli.common import parse_moment
    from gateway.cli.output import DataTable

    moment = parse_moment(since, config.site.timezone, "--since")
    rows = asyncio.run(list_audit(config, since=moment, actor=actor, limit=limit))
    if as_json:
        echo_json([r.as_json() for r in rows])
        return
    table = DataTable("at", "who", "from", "action", "target", "detail")
    for r in rows:
        detail = ", ".join(f"{k}={v}" for k, v in r.as_json()["detail"].items())
        table.add_row(r.at[:19], f"{r.actor} ({r.actor_kind})", r.address, r.action, r.target or "", detail)
    console().print(table)
    if not rows:
        click.echo("no audit entries", err=True)


COMMANDS = (users, tokens, audit)
