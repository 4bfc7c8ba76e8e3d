"""``gateway messages list|show`` and ``gateway thread``: every SMS in and out, and everything
one phone said and was told (:mod:`gateway.desk.messages`, :mod:`gateway.desk.threads`).

Ids: ``in-ID`` is a message received, ``out-ID`` an outbox row (``gateway outbox show ID``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, parse_moment, with_config

if TYPE_CHECKING:
    from rich.console import Console

    from gateway import config as config_mod
    from gateway.desk.messages import Direction, MessageDetail, OutboxDetail, Sms

PHONE_HELP = "Only this phone's SMS, as a person writes it (0912 123 4567, +98..., Persian digits)."


@click.group(cls=Group, context_settings=CONTEXT)
def messages() -> None:
    """Every SMS in and out: what customers sent (with how each was routed) and what went to them."""


@messages.command("list", context_settings=CONTEXT)
@with_config
@click.option("--phone", help=PHONE_HELP)
@click.option("--direction", type=click.Choice(["in", "out"]), help="Only received (in) or outbox (out) SMS.")
@click.option("--since", help="Only SMS since: an ISO time (site time if no zone) or a duration (2h, 30m, 2d).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--follow", is_flag=True, help="Then print each new SMS as it arrives, until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON; with --follow one object per line.")
def messages_list(
    config: config_mod.Config, phone: str | None, direction: str | None, since: str | None, limit: int,
    follow: bool, as_json: bool,
) -> None:  # fmt: skip
    """Newest first: each received SMS (in-ID) with how it was routed -- a ticket, a repeat, a
    menu turn, STOP, a flood left unanswered, a machine's text -- and each outbox row (out-ID)
    with its lane and delivery state.

    Example: gateway messages list --phone "0912 123 4567" --since 2h; gateway messages list --follow
    """
    import asyncio

    from gateway.desk.messages import list_messages, read_phone

    number = read_phone(config, phone) if phone is not None else None
    way: Direction | None = "in" if direction == "in" else "out" if direction == "out" else None
    moment = parse_moment(since, config.site.timezone, "--since")
    if follow:
        _follow(config, number, way, moment, limit, as_json)
        return
    found = asyncio.run(list_messages(config, phone=number, direction=way, since=moment, limit=limit))
    if as_json:
        echo_json([m.as_json() for m in found])
    else:
        out = console()
        for sms in found:
            print_sms(out, sms)


@messages.command("show", context_settings=CONTEXT)
@with_config
@click.argument("message_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def messages_show(config: config_mod.Config, message_id: str, as_json: bool) -> None:
    """One SMS: in-ID, a message received (how it was routed, its ticket, the replies it got);
    out-ID, an outbox row (as gateway outbox show prints it).

    Example: gateway messages show in-12
    """
    import asyncio

    from gateway.desk.messages import OutboxDetail, show_message

    detail = asyncio.run(show_message(config, message_id))
    if as_json:
        echo_json(detail.as_json())
    elif isinstance(detail, OutboxDetail):
        print_outbox(console(), detail)
    else:
        _print_message(console(), detail)


@click.command(context_settings=CONTEXT)
@with_config
@click.argument("phone")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def thread(config: config_mod.Config, phone: str, as_json: bool) -> None:
    """Everything a phone sent and was sent, oldest first: its tickets, each SMS it sent with
    how it was routed (menu turns, unknown texts, floods, STOP too), each SMS to it with its
    delivery state.

    Example: gateway thread "0912 123 4567"
    """
    import asyncio

    from gateway.cli.output import print_fields, styled
    from gateway.desk.threads import thread as read_thread

    found = asyncio.run(read_thread(config, phone))
    if as_json:
        echo_json(found.as_json())
        return
    out = console()
    fields = {"phone": found.phone, "broadcasts": "opted out (STOP)" if found.opted_out else "yes"}
    print_fields(out, fields, 10)
    out.print(styled("[bold]tickets[/bold]"))
    for t in found.tickets:
        repeats = f", {t.repeat_count} repeat(s)" if t.repeat_count else ""
        out.print(styled("  {}  {}  {}  {}{}  {}", t.received_at[:19], t.ref, t.status, t.category, repeats,
                         t.account or "-"))  # fmt: skip
    if not found.tickets:
        out.print("  none")
    out.print(styled("[bold]messages[/bold]"))
    if found.truncated:
        out.print(styled("  (older messages not shown)"))
    for sms in found.messages:
        print_sms(out, sms, indent="  ")
    if not found.messages:
        out.print("  none")


COMMANDS = (messages, thread)


def print_sms(out: Console, sms: Sms, indent: str = "") -> None:
    """One line: when, the id, who, which SIM, how it was routed or how it went, the text."""
    from gateway.cli.output import styled
    from gateway.store import MessageRow

    row = sms.row
    if isinstance(row, MessageRow):
        who, via = f"from {row.phone or row.sender}", row.modem_id
    else:
        who, via = f"to {row.phone}", row.modem_id or row.modem_hint or "-"
    out.print(styled(indent + "{}  {}  {} via {}  [{}]: {}", sms.at[:19], sms.id, who, via, sms.routed, row.text))


def print_outbox(out: Console, detail: OutboxDetail) -> None:
    """``gateway outbox show``: the row's fields, then each part as it went on air."""
    from gateway.cli.output import DataTable, print_fields

    row = detail.row
    fields = {
        "id": f"out-{row.id}", "to": row.phone, "lane": row.lane, "status": row.status,
        "ticket": detail.ticket.ref if detail.ticket else "-",
        "answers": f"in-{row.message_id}" if row.message_id is not None else "-",
        "sim": row.modem_id or "-", "sim_wanted": row.modem_hint or "-", "parts": row.parts,
        "parts_sent": row.parts_sent, "attempts": row.attempts, "last_error": row.last_error or "-",
        "created_at": row.created_at, "claimed_at": row.claimed_at or "-", "sent_at": row.sent_at or "-",
        "delivered_at": detail.delivered_at or "-", "next_attempt": row.next_attempt_at or "-", "text": row.text,
    }  # fmt: skip
    print_fields(out, fields, 12)
    if not detail.parts:
        out.print("no part has gone on air yet")
        return
    table = DataTable("part", "sim", "reference", "sent_at", "delivery", "report", "reported_at")
    for p in detail.parts:
        table.add_row(
            str(p.part), p.modem_id, str(p.reference) if p.reference >= 0 else "no +CMGS", p.sent_at, p.status,
            f"0x{p.report:02X}" if p.report is not None else "", p.reported_at or "",
        )  # fmt: skip
    out.print(table)


def _print_message(out: Console, detail: MessageDetail) -> None:
    from gateway.cli.output import print_fields, styled
    from gateway.store import MessageRow

    sms = detail.sms
    row = sms.row
    assert isinstance(row, MessageRow)
    fields = {
        "id": sms.id, "from": row.phone or row.sender, "sender_kind": row.sender_kind or "-", "sim": row.modem_id,
        "received_at": row.received_at, "sent_at": row.sent_at or "-", "parts": row.parts,
        "complete": "yes" if row.complete else "no (parts missing)", "routed": sms.routed,
        "ticket": sms.ticket.ref if sms.ticket else "-", "language": row.language or "-", "text": row.text,
    }  # fmt: skip
    print_fields(out, fields, 11)
    if detail.replies:
        out.print(styled("[bold]answered by[/bold]"))
    for reply in detail.replies:
        print_sms(out, reply, indent="  ")


def _follow(
    config: config_mod.Config, phone: str | None, way: Direction | None, since: datetime | None, limit: int,
    as_json: bool,
) -> None:  # fmt: skip
    """The SMS that match now (the newest ``limit``, oldest first), then each new one as it
    arrives, one line each; Ctrl-C ends it (exit 0)."""
    import asyncio
    import json
    import sys

    from gateway.desk.messages import follow

    out = console()

    def show(sms: Sms) -> None:
        if as_json:
            click.echo(json.dumps(sms.as_json(), ensure_ascii=False))
        else:
            print_sms(out, sms)
        sys.stdout.flush()

    def ready() -> None:
        if not as_json:
            click.echo("following new messages (Ctrl-C to stop)", err=True)

    try:
        asyncio.run(follow(config, show, phone=phone, direction=way, since=since, limit=limit, ready=ready))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
