"""``gateway tickets status|note|assign|reply``: case work on one ticket; and how ``tickets show`` prints one.

Who acts is ``--as NAME``, else the login name (``$USER``); ``crm`` is the CRM's name in a
ticket's history and no local user's.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, LazyChoice, console, echo_json, with_config

if TYPE_CHECKING:
    from rich.console import Console

    from gateway import config as config_mod
    from gateway.desk.casework import Change, TicketCase
    from gateway.desk.replies import Reply

AS_HELP = "Who makes the change, for the ticket's history [default: $USER]."


def actor_name(given: str | None) -> str:
    """``--as NAME``, else the login name."""
    if given is not None:
        return given
    import getpass

    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        raise click.ClickException("who is making this change? Name yourself with --as NAME") from None


@click.command("status", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.argument("status", metavar="STATUS", type=LazyChoice("gateway.desk.rules", "TICKET_STATUSES"))
@click.option("--note", help="A note kept with the change (at most 1000 characters).")
@click.option("--notify", is_flag=True, help="Text the customer this status's reply, in their language.")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the history entry as JSON.")
def tickets_status(
    config: config_mod.Config, ref: str, status: str, note: str | None, notify: bool, actor: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Change a ticket's status: open, in_progress, resolved or closed (any may follow any other:
    a closed ticket may be reopened). Kept in the ticket's history with who changed it.

    Example: gateway tickets status 12-000345 resolved --note "cable replaced" --notify
    """
    import asyncio

    from gateway.desk.casework import set_status

    change = asyncio.run(set_status(config, ref, status, actor=actor_name(actor), note=note, notify=notify))
    _done(change, as_json)


@click.command("note", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.argument("text")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the history entry as JSON.")
def tickets_note(config: config_mod.Config, ref: str, text: str, actor: str | None, as_json: bool) -> None:
    """Add a note to a ticket (at most 1000 characters), for the next agent.

    Example: gateway tickets note 12-000345 "customer says the whole street is dark"
    """
    import asyncio

    from gateway.desk.casework import add_note

    _done(asyncio.run(add_note(config, ref, text, actor=actor_name(actor))), as_json)


@click.command("assign", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.argument("user")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the history entry as JSON.")
def tickets_assign(config: config_mod.Config, ref: str, user: str, actor: str | None, as_json: bool) -> None:
    """Assign a ticket to a user (a name of at most 64 characters).

    Example: gateway tickets assign 12-000345 sara
    """
    import asyncio

    from gateway.desk.casework import assign

    _done(asyncio.run(assign(config, ref, user, actor=actor_name(actor))), as_json)


@click.command("reply", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.argument("text", required=False)
@click.option("--template", metavar="NAME", help="A notice of [broadcast] templates, in the ticket's language.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A value for the template (repeat).")
@click.option("--force", is_flag=True, help="Send it even if longer than [conversation] reply_max_parts.")
@click.option("--as", "actor", metavar="NAME", help=AS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the history entry and the SMS as JSON.")
def tickets_reply(
    config: config_mod.Config, ref: str, text: str | None, template: str | None, variables: tuple[str, ...],
    force: bool, actor: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Text the ticket's customer: your TEXT, or a notice (--template) with the ticket's
    reference filled in. In the reply lane, from the SIM the customer texted while it is
    healthy; kept in the ticket's history with who replied.

    Example: gateway tickets reply 12-000345 "A crew is on its way to your street."

    Example: gateway tickets reply 12-000345 --template restored --var area="North district"
    """
    import asyncio

    from gateway.cli.common import FLAGS
    from gateway.desk.replies import send_reply
    from gateway.exceptions import GatewayError

    if (text is None) == (template is None):
        raise click.UsageError("give the reply's TEXT or --template NAME (one of the two)")
    if variables and template is None:
        raise click.UsageError("--var fills a --template: a TEXT is sent as written")
    values: dict[str, str] = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--var {item!r}: write NAME=VALUE")
        values[name.strip()] = value
    try:
        reply = asyncio.run(
            send_reply(config, ref, text, template=template, values=values, actor=actor_name(actor), force=force)
        )
    except GatewayError as exc:
        raise click.ClickException(exc.wording.naming({**FLAGS, "force": "pass --force"})) from None
    if as_json:
        echo_json(reply.as_json())
        return
    _replied(reply)


COMMANDS = (tickets_status, tickets_note, tickets_assign, tickets_reply)


def _done(change: Change, as_json: bool) -> None:
    from gateway.cli.output import styled

    entry, ticket = change.entry, change.ticket
    if as_json:
        echo_json({"ref": ticket.ref, **entry.as_json(), "notice": change.notice})
        return
    out = console()
    if entry.action == "status":
        line = styled("{}: {} -> [bold]{}[/bold] (by {})", ticket.ref, entry.old_value, entry.new_value, entry.actor)
        out.print(line)
    elif entry.action == "assign":
        out.print(styled("{}: assigned to [bold]{}[/bold] (by {})", ticket.ref, entry.new_value, entry.actor))
    if entry.note:
        out.print(styled("{}: note added (by {}): {}", ticket.ref, entry.actor, entry.note))
    if change.notice is not None:
        parts = f"{change.notice_parts} SMS part" + ("s" if change.notice_parts != 1 else "")
        out.print(
            styled("customer {} will be told ({}, {}, outbox #{}): {}", ticket.phone, ticket.language, parts,
                   entry.outbox_id, change.notice)
        )  # fmt: skip


def _replied(reply: Reply) -> None:
    from gateway.cli.output import styled

    out = console()
    ticket, entry = reply.ticket, reply.entry
    parts = f"{reply.parts} SMS part" + ("s" if reply.parts != 1 else "")
    out.print(styled("{}: reply to {} queued (by {}, outbox #{})", ticket.ref, ticket.phone, entry.actor,
                     entry.outbox_id))  # fmt: skip
    out.print(styled("  language  {}", reply.language))
    out.print(styled("  parts     {} ({})", parts, reply.encoding))
    out.print(styled("  SIM       {}", _sim_line(reply)))
    out.print(styled("  text      {}", reply.text))


def _sim_line(reply: Reply) -> str:
    state = reply.customer_sim_state
    if reply.sim is not None and state not in (None, "ready"):
        return f"{reply.sim} (the SIM the customer texted; last seen {state}: any healthy SIM if it is not ready)"
    if reply.sim is not None:
        return f"{reply.sim} (the SIM the customer texted)"
    if reply.customer_sim is None:
        return "any healthy SIM"
    return f"any healthy SIM ({reply.customer_sim}, the SIM the customer texted, is {reply.customer_sim_state})"


def print_case(out: Console, case: TicketCase) -> None:
    """A ticket's fields, then its notes, history and thread, each piece of data literally."""
    from gateway.cli.output import print_fields, styled

    ticket = case.ticket
    print_fields(out, {**ticket.as_json(), "assigned_to": ticket.assigned_to or "-"}, 12)
    if case.notes:
        out.print(styled("[bold]notes[/bold]"))
        for h in case.notes:
            out.print(styled("  {}  {}: {}", h.at[:19], h.actor, h.note))
    if case.history:
        out.print(styled("[bold]history[/bold]"))
        for h in case.history:
            what = _what(h.action, h.old_value, h.new_value, h.outbox_id)
            if h.note:
                out.print(styled("  {}  {}  {}: {}", h.at[:19], h.actor, what, h.note))
            else:
                out.print(styled("  {}  {}  {}", h.at[:19], h.actor, what))
    out.print(styled("[bold]thread[/bold]"))
    for item in case.thread():
        if item["direction"] == "in":
            at, phone, modem, text = item["at"][:19], item["phone"], item["modem"], item["text"]
            out.print(styled("  {}  in   from {} via {}: {}", at, phone, modem, text))
        else:
            out.print(
                styled("  {}  out  #{} {} {} to {} via {}: {}", item["at"][:19], item["outbox_id"], item["lane"],
                       item["status"], item["phone"], item["modem"] or "-", item["text"])
            )  # fmt: skip


def _what(action: str, old: str | None, new: str | None, outbox_id: int | None) -> str:
    if action == "status":
        told = f" (customer told: outbox #{outbox_id})" if outbox_id is not None else ""
        return f"status {old} -> {new}{told}"
    if action == "assign":
        return f"assigned to {new or 'nobody'}" + (f" (was {old})" if old else "")
    if action == "reply":
        return f"replied (outbox #{outbox_id})" + (f" with template {new}" if new else "")
    return "note"
