"""``gateway optouts``: who gets no broadcasts -- the opt-outs STOP and START by SMS set, set by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
def optouts() -> None:
    """Phones that get no broadcasts: those that texted STOP, and those added here. Replies about
    a customer's own requests still go."""


@optouts.command("list", context_settings=CONTEXT)
@with_config
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (phone, language, opted_out_at).")
def optouts_list(config: config_mod.Config, limit: int, as_json: bool) -> None:
    """Phones that opted out, the latest first.

    Example: gateway optouts list --json
    """
    import asyncio

    from gateway.cli.output import DataTable
    from gateway.desk.people import list_opt_outs

    rows = asyncio.run(list_opt_outs(config, limit))
    if as_json:
        echo_json([r.as_json() for r in rows])
        return
    table = DataTable("phone", "language", "opted out at")
    for r in rows:
        table.add_row(r.phone, r.language or "", (r.opted_out_at or "")[:19])
    console().print(table)
    if not rows:
        click.echo("no opt-outs", err=True)


@optouts.command("add", context_settings=CONTEXT)
@with_config
@click.argument("phone")
@click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
def optouts_add(config: config_mod.Config, phone: str, actor: str | None) -> None:
    """Opt a phone out of broadcasts, as if it had texted STOP: the broadcasts still waiting
    for it are cancelled. PHONE may be written any way (0912 123 4567, +98 912-123-4567).

    Example: gateway optouts add 09121234567
    """
    import asyncio

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.people import add_opt_out

    done = asyncio.run(add_opt_out(config, phone, actor=actor_name(actor)))
    waiting = f"; {done.cancelled} waiting broadcast(s) cancelled" if done.cancelled else ""
    click.echo(f"{done.phone} opted out: no more broadcasts{waiting}")


@optouts.command("remove", context_settings=CONTEXT)
@with_config
@click.argument("phone")
@click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
def optouts_remove(config: config_mod.Config, phone: str, actor: str | None) -> None:
    """Take back a phone's opt-out, as if it had texted START: later broadcasts reach it again
    (those cancelled stay cancelled).

    Example: gateway optouts remove +989121234567
    """
    import asyncio

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.people import remove_opt_out

    number = asyncio.run(remove_opt_out(config, phone, actor=actor_name(actor)))
    click.echo(f"{number} opted in again: later broadcasts reach it")


COMMANDS = (optouts,)
