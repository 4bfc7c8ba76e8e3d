"""``gateway cap``: CAP 1.2 (Common Alerting Protocol) alerts -- ``ingest`` takes one in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
def cap() -> None:
    """CAP 1.2 alerts: take one in from the national alert system or outage management (an
    Alert declares an outage, an Update updates it, a Cancel cancels it). Every notice the
    gateway sends is published as CAP beside the public copy. See docs/cap.md."""


@cap.command("ingest", context_settings=CONTEXT)
@with_config
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.option("--as", "actor", metavar="NAME", help="Who takes it in, for the audit log [default: $USER].")
def cap_ingest(config: config_mod.Config, file: BinaryIO, as_json: bool, actor: str | None) -> None:
    """Take in the CAP 1.2 alert in FILE (- reads stdin): checked against CAP 1.2, then acted
    on once (the same identifier, sender and sent again changes nothing). A Test or Exercise
    alert only shows the dry run. A refused document (not CAP 1.2, not for our areas, a Cancel
    of an alert we never took in) changes nothing and exits 1 with the reason.

    Example: gateway cap ingest alert.xml
    """
    import asyncio

    from gateway.cap.operations import ingest_file
    from gateway.cap.rules import MAX_BYTES
    from gateway.cli.ticket_case import actor_name

    raw = file.read(MAX_BYTES + 1)
    taken = asyncio.run(ingest_file(config, raw, actor=actor_name(actor)))
    if as_json:
        echo_json(taken.as_json())
        return
    _show(taken.as_json(), config.site.timezone)


def _show(taken: dict[str, Any], timezone: str) -> None:
    from zoneinfo import ZoneInfo

    from gateway.cli.output import literal, styled
    from gateway.outages.etr import local_text

    out = console()
    head = {"dry_run": "DRY RUN", "seen": "Already taken in"}.get(taken["outcome"], "Done")
    out.print(styled(f"[bold]{head}[/]: {{}} {{}} from {{}}: {{}}", taken["status"], taken["msg_type"],
                     taken["sender"], taken["message"]))  # fmt: skip
    if taken["areas"]:
        out.print(literal(f"  areas: {', '.join(taken['areas'])}"))
    if taken["eta"]:
        out.print(literal(f"  estimated restoration: {local_text(taken['eta'], ZoneInfo(timezone))} ({timezone})"))
    for language, words in taken["public"].items():
        for key, text in words.items():
            if text:
                out.print(literal(f"  public copy {key} ({language}): {text}"))
    said = taken["notices"]
    for notice in said.get("notices", []):
        verb = "would tell" if said.get("dry_run") else "tells"
        out.print(literal(f"  notice {notice['template']} {verb} {notice['recipients']} people:"))
        for language, text in notice.get("texts", {}).items():
            out.print(literal(f"    {language} ({text['parts']} part(s)): {text['text']}"))
    if taken["outcome"] != "seen" and said and not said.get("notices"):
        out.print(literal("  no notice (nobody to tell, or [cap] notify = false)"))
    for key in ("would", "warning"):
        if said.get(key):
            out.print(literal(f"  {key}: {said[key]}"))


@cap.command("received", context_settings=CONTEXT)
@with_config
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Newest this many.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print JSON (message_id, serial, language, text, received_at, modems, ...).",
)  # fmt: skip
def cap_received(config: config_mod.Config, limit: int, as_json: bool) -> None:
    """Cell broadcasts the modems heard (the public warnings of [cell_broadcast] channels),
    newest first: what the national alert system told everyone's phone, so that our own
    message can agree with it. Each message once (its identifier and serial number), with
    the modems that heard it; a new update number is a new message. See docs/cell-broadcast.md.

    Example: gateway cap received --json
    """
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gateway.cli.output import DataTable
    from gateway.inbound.cell_broadcast import received

    rows = asyncio.run(received(config, limit))
    if as_json:
        echo_json([r.as_json() for r in rows])
        return
    tz = ZoneInfo(config.site.timezone)
    table = DataTable("received", "identifier", "serial (code/update)", "language", "heard by", "text")
    for r in rows:
        when = datetime.fromisoformat(r.received_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            when, str(r.message_id), f"{r.serial} ({r.message_code}/{r.update_number})", r.language or "-",
            ", ".join(r.modems), r.text,
        )  # fmt: skip
    console().print(table)
    if not rows:
        click.echo("no cell broadcasts heard", err=True)


COMMANDS = [cap]
