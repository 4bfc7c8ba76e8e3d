"""``gateway webhooks``: receivers of the gateway's events (signed POSTs, retried for days)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from rich.text import Text

    from gateway import config as config_mod
    from gateway.store import Actor

SECRET_ENV = "GATEWAY_WEBHOOK_SECRET"
AS_HELP = "Who makes the change, for the audit log [default: $USER]."


def _actor(given: str | None) -> Actor:

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.rules import check_name
    from gateway.store import Actor

    return Actor.local(check_name(actor_name(given)))


@click.group(cls=Group, context_settings=CONTEXT)
def webhooks() -> None:
    """Receivers of the gateway's events: ticket.opened, ticket.updated, message.received,
    message.sent, message.delivered, message.failed, sim.state. The running daemon POSTs each
    event to each receiver that asked for it, signed with the receiver's secret."""


@webhooks.command("add", context_settings=CONTEXT)
@with_config
@click.argument("url")
@click.option("--events", "events", required=True, help="Comma-separated event types.")
@click.option("--secret", envvar=SECRET_ENV, help=f"The signing secret (or ${SECRET_ENV}, or --secret-stdin).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from the first line of stdin.")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def webhooks_add(
    config: config_mod.Config, url: str, events: str, secret: str | None, secret_stdin: bool, actor: str | None
) -> None:
    """Add a receiver of EVENTS at URL (http or https). Each event is POSTed as JSON with
    X-Gateway-Timestamp, X-Gateway-Signature (sha256=HMAC of "TIMESTAMP.BODY" with the secret)
    and X-Gateway-Event-Id; only events from now on.

    Example: gateway webhooks add https://ops.example.org/hook --events ticket.opened,message.received --secret-stdin
    """
    import asyncio

    from gateway.hooks.operations import add_webhook

    if secret_stdin:
        import sys

        secret = sys.stdin.readline().rstrip("\r\n")
    if secret is None:
        raise click.UsageError(f"give the signing secret: --secret S, ${SECRET_ENV} or --secret-stdin")
    hook = asyncio.run(add_webhook(config, url, events, secret, actor=_actor(actor)))
    click.echo(f"webhook #{hook.row.id} added: {hook.row.url} gets {', '.join(hook.row.types)}")


@webhooks.command("list", context_settings=CONTEXT)
@with_config
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON (id, url, events, status, backlog, last_success_at, created_by, ...).",
)
def webhooks_list(config: config_mod.Config, as_json: bool) -> None:
    """Receivers, each with its backlog (events not yet delivered), its last success, its
    last error and who added it (a user or token of the API, or a local account at the
    command line): a receiver that is down shows here. Secrets are never shown.

    Example: gateway webhooks list --json
    """
    import asyncio

    from rich.text import Text

    from gateway.cli.output import DataTable, literal
    from gateway.hooks.operations import list_webhooks

    hooks = asyncio.run(list_webhooks(config))
    if as_json:
        echo_json([h.as_json() for h in hooks])
        return
    table = DataTable("id", "url", "events", "status", "backlog", "last success", "last error", "added by")
    for h in hooks:
        r = h.row
        error = Text("")
        if r.last_error:
            error = literal(f"{(r.last_error_at or '')[:19]} {r.last_error} (try {r.attempts})")
        table.add_row(
            str(r.id), literal(r.url), ", ".join(r.types), r.status, str(h.backlog),
            (r.last_success_at or "never")[:19], error, _added_by(r.created_by, r.created_by_kind),
        )  # fmt: skip
    console().print(table)
    if not hooks:
        click.echo("no webhooks", err=True)


def _added_by(name: str | None, kind: str | None) -> Text:
    from gateway.cli.output import literal

    if name is None:
        return literal("-")
    return literal(f"{name} ({kind})" if kind in ("user", "token") else name)


@webhooks.command("remove", context_settings=CONTEXT)
@with_config
@click.argument("hook_id", metavar="ID")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def webhooks_remove(config: config_mod.Config, hook_id: str, actor: str | None) -> None:
    """Stop sending events to a receiver (its backlog is dropped; the events stay journalled).

    Example: gateway webhooks remove 2
    """
    import asyncio

    from gateway.hooks.operations import remove_webhook

    number = asyncio.run(remove_webhook(config, hook_id, actor=_actor(actor)))
    click.echo(f"webhook #{number} removed")


@webhooks.command("revive", context_settings=CONTEXT)
@with_config
@click.argument("hook_id", metavar="ID")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
def webhooks_revive(config: config_mod.Config, hook_id: str, actor: str | None) -> None:
    """Try a dead (or failing) receiver again now, from the first event it has not had: those
    still journalled, in order (the journal keeps events [retention] outbox_days; a dead
    receiver does not hold them back).

    Example: gateway webhooks revive 2
    """
    import asyncio

    from gateway.hooks.operations import revive_webhook

    hook = asyncio.run(revive_webhook(config, hook_id, actor=_actor(actor)))
    click.echo(f"webhook #{hook.row.id} is active again: {hook.backlog} events waiting for {hook.row.url}")


COMMANDS = (webhooks,)
