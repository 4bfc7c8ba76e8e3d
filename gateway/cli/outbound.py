"""``gateway send|outbox``: messages out, and what became of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.command(context_settings=CONTEXT)
@with_config
@click.argument("number")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the queued row as JSON.")
def send(config: config_mod.Config, number: str, text: str, as_json: bool) -> None:
    """Queue an SMS; the running daemon sends it (without one, it waits until one starts).
    A text longer than any SIM may send in one minute is refused.

    Example: gateway send 09121234567 "Power is back in your area."
    """
    import asyncio

    from gateway.lockfile import no_daemon
    from gateway.outbound.operations import outbox_json, queue_sms

    row = asyncio.run(queue_sms(config, number, text))
    waiting = no_daemon(config)
    if as_json:
        echo_json(outbox_json(row))
    else:
        click.echo(
            f"queued #{row.id} to {row.phone} ({row.parts} part(s))" + ("" if waiting else "; the daemon sends it")
        )
    if waiting:
        click.echo(f"warning: {waiting}", err=True)


@click.group(cls=Group, context_settings=CONTEXT)
def outbox() -> None:
    """Messages waiting to be sent, and what became of them."""


@outbox.command("list", context_settings=CONTEXT)
@with_config
@click.option(
    "--status", type=click.Choice(["queued", "sending", "sent", "delivered", "failed", "unknown", "cancelled"])
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_list(config: config_mod.Config, status: str | None, limit: int, as_json: bool) -> None:
    """Newest first.

    Example: gateway outbox list --status failed
    """
    import asyncio

    from gateway.cli.output import DataTable
    from gateway.outbound.operations import list_outbox, outbox_json

    rows = asyncio.run(list_outbox(config, status, limit))
    if as_json:
        echo_json([outbox_json(r) for r in rows])
        return
    table = DataTable("id", "lane", "status", "to", "modem", "parts", "tries", "error", "text")
    for r in rows:
        table.add_row(
            str(r.id),
            r.lane,
            r.status,
            r.phone,
            r.modem_id or "",
            str(r.parts),
            str(r.attempts),
            r.last_error or "",
            r.text,
        )
    console().print(table)


@outbox.command("show", context_settings=CONTEXT)
@with_config
@click.argument("outbox_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_show(config: config_mod.Config, outbox_id: str, as_json: bool) -> None:
    """One outbox row (ID as outbox list prints it, or out-ID): its status, attempts, SIM,
    last error and timestamps, then each part as it went on air with its delivery state.

    Example: gateway outbox show 45
    """
    import asyncio

    from gateway.cli.messages import print_outbox
    from gateway.config.reader import ascii_digits
    from gateway.desk.messages import show_outbox

    number = ascii_digits(outbox_id).strip().lower().removeprefix("out-")
    if not (number.isascii() and number.isdigit()):
        raise click.BadParameter(f"{outbox_id!r} is not an outbox id: write 45 or out-45", param_hint="'ID'")
    detail = asyncio.run(show_outbox(config, int(number)))
    if as_json:
        echo_json(detail.as_json())
    else:
        print_outbox(console(), detail)


COMMANDS = (send, outbox)
