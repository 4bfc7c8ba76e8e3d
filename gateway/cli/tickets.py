"""``gateway tickets|parse``: the tickets opened from customers' SMS, and what the router would do with one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, LazyChoice, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
def tickets() -> None:
    """Tickets opened from customers' SMS, and the desk's work on them (status, notes, assignment)."""


@tickets.command("list", context_settings=CONTEXT)
@with_config
@click.option("--status", type=LazyChoice("gateway.desk.operations", "TICKET_STATUSES"),
              help="Only tickets with this status.")  # fmt: skip
@click.option("--sync", "sync_status", type=LazyChoice("gateway.store.sync", "SYNC_STATES"),
              help="Only tickets in this CRM sync state.")  # fmt: skip
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the ticket contract fields).")
def tickets_list(
    config: config_mod.Config, status: str | None, sync_status: str | None, limit: int, as_json: bool
) -> None:
    """Newest tickets first.

    Example: gateway tickets list --status open --json; gateway tickets list --sync rejected
    """
    from gateway.desk.operations import list_tickets

    rows = list_tickets(config, status, limit, sync_status)
    if as_json:
        echo_json([t.as_json() for t in rows])
        return
    from gateway.cli.output import DataTable

    table = DataTable("ref", "category", "account", "phone", "lang", "status", "received", "modem", "CRM")
    for t in rows:
        crm = t.sync_status + (f": {t.sync_error}" if t.sync_error else "")
        table.add_row(
            t.ref, t.category, t.account or "", t.phone, t.language, t.status, t.received_at[:19], t.modem or "", crm
        )
    console().print(table)
    if not rows:
        click.echo("no tickets yet", err=True)


@tickets.command("show", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tickets_show(config: config_mod.Config, ref: str, as_json: bool) -> None:
    """One ticket: its fields, who it is assigned to, its notes, its history (status changes,
    notes, assignments, by whom) and its thread (the customer's SMS and ours, in time order).
    REF may be typed in any digit script.

    Example: gateway tickets show 12-000345
    """
    import asyncio

    from gateway.cli.ticket_case import print_case
    from gateway.desk.casework import show_case

    case = asyncio.run(show_case(config, ref))
    if as_json:
        echo_json(case.as_json())
        return
    print_case(console(), case)


# ---------------------------------------------------------------- parse / send / outbox / inbox


@click.command(context_settings=CONTEXT)
@with_config
@click.argument("text")
@click.option("--from", "sender", help="Sender number (decides no-reply rules and the default language).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def parse(config: config_mod.Config, text: str, sender: str | None, as_json: bool) -> None:
    """What the router would do with an SMS -- no ticket, no reply, no database.

    Example: gateway parse "OUT1234" --from +447700900123 --json
    """
    from gateway.cli.output import print_fields
    from gateway.desk.parse import parse_message

    result = parse_message(config, text, sender)
    if as_json:
        echo_json(result.as_json())
        return
    print_fields(console(), result.as_json(), 15)


def _case_work() -> None:
    """``status``, ``note``, ``assign``: in their own module (:mod:`gateway.cli.ticket_case`)."""
    from gateway.cli import ticket_case

    for command in ticket_case.COMMANDS:
        tickets.add_command(command)


_case_work()
COMMANDS = (tickets, parse)
