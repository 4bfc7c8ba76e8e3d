"""``gateway tickets|parse``: the tickets opened from customers' SMS, and what the router would do with one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, LazyChoice, console, echo_json, parse_moment, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod
    from gateway.store import TicketRow
    from gateway.store.reader import TicketFilter


@click.group(cls=Group, context_settings=CONTEXT)
def tickets() -> None:
    """Tickets opened from customers' SMS, and the desk's work on them (status, notes, assignment)."""


@tickets.command("list", context_settings=CONTEXT)
@with_config
@click.option("--status", type=LazyChoice("gateway.desk.operations", "TICKET_STATUSES"),
              help="Only tickets with this status.")  # fmt: skip
@click.option("--sync", "sync_status", type=LazyChoice("gateway.store.sync", "SYNC_STATES"),
              help="Only tickets in this CRM sync state.")  # fmt: skip
@click.option("--category", help="Only tickets of this category (outage, billing, ...).")
@click.option("--phone", help="Only tickets from this number, written any way (0912 123 4567, +98912...).")
@click.option("--account", help="Only tickets about this account (digits in any script).")
@click.option("--area", help="Only tickets from a contact of this area, by phone or account (contacts import).")
@click.option("--since", help="Only tickets received since: an ISO time (site time if no zone) or a duration (6h, 2d).")
@click.option("--until", help="Only tickets received before: an ISO time or a duration ago.")
@click.option("--assigned", metavar="USER", help="Only tickets assigned to USER.")
@click.option("--search", metavar="TEXT", help="Only tickets whose text holds TEXT (any case, script variant, digits).")
@click.option("--follow", is_flag=True, help="Then print each new ticket as it arrives, until Ctrl-C.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (the ticket contract fields); with --follow one object per line.")  # fmt: skip
def tickets_list(
    config: config_mod.Config, status: str | None, sync_status: str | None, category: str | None,
    phone: str | None, account: str | None, area: str | None, since: str | None, until: str | None,
    assigned: str | None, search: str | None, follow: bool, limit: int, as_json: bool,
) -> None:  # fmt: skip
    """Newest tickets first; each filter given narrows the list. A ticket's area is the area of
    the contact whose phone or account it has.

    Example: gateway tickets list --status open --area north --since 6h --search "no power" --json;
    gateway tickets list --category outage --follow
    """
    from gateway.desk.operations import list_tickets

    where = None
    if any(v is not None for v in (category, phone, account, area, since, until, assigned, search)):
        from gateway.desk.operations import ticket_filter

        where = ticket_filter(
            config, category=category, phone=phone, account=account, area=area, assigned=assigned, search=search,
            since=parse_moment(since, config.site.timezone, "--since"),
            until=parse_moment(until, config.site.timezone, "--until"),
        )  # fmt: skip
    if follow:
        _follow(config, status, sync_status, where, limit, as_json)
        return
    rows = list_tickets(config, status, limit, sync_status, where)
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
        click.echo("no tickets match" if where is not None else "no tickets yet", err=True)


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


def _follow(
    config: config_mod.Config, status: str | None, sync_status: str | None, where: TicketFilter | None,
    limit: int, as_json: bool,
) -> None:  # fmt: skip
    """The tickets that match now (the newest ``limit``, oldest first), then each new one as it
    arrives, one line each; Ctrl-C ends it (exit 0)."""
    import json
    from dataclasses import replace

    from gateway.cli.output import styled
    from gateway.desk.operations import TicketFilter, follow_start, follow_tickets, list_tickets

    out = console()

    def show(t: TicketRow) -> None:
        if as_json:
            click.echo(json.dumps(t.as_json(), ensure_ascii=False))
        else:
            out.print(styled("{}  {}  {}  {}  {}  {}  {}", t.received_at[:19], t.ref, t.category, t.account or "-",
                             t.phone, t.status, t.text))  # fmt: skip

    query = replace(where or TicketFilter(), status=status, sync_status=sync_status)
    try:
        after = follow_start(config)
        shown = list_tickets(config, None, limit, None, query)
        for t in reversed(shown):
            show(t)
        seen = {t.id for t in shown}
        if not as_json:
            click.echo("following new tickets (Ctrl-C to stop)", err=True)
        for t in follow_tickets(config, query, after_seq=after):
            if t.id not in seen:
                show(t)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _case_work() -> None:
    """``status``, ``note``, ``assign``: in their own module (:mod:`gateway.cli.ticket_case`)."""
    from gateway.cli import ticket_case

    for command in ticket_case.COMMANDS:
        tickets.add_command(command)


_case_work()
COMMANDS = (tickets, parse)
